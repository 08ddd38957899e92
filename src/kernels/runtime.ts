// The WebGPU runtime: one device per process, a pipeline cache, a buffer pool,
// and one command encoder that collects every dispatch until the next readback
// or explicit submit. Kernels never talk to the device directly: they describe
// a Program and hand it to `runProgram`.
import { readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create, globals } from 'webgpu';

const SHADER_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shaders');

// GPUBufferUsage, GPUMapMode and friends become globals here.
Object.assign(globalThis, globals);
const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** A uniform field: a plain number is a u32; wrap floats and signed ints. */
export type Uniform = number | { f32: number } | { i32: number };

/**
 * One GPU kernel launch, after TensorFlow.js's WebGPUProgram: the constructor
 * of a program computes, it never touches the GPU.
 *
 * Bindings: `buffers[i]` is bound at @binding(i) of @group(0), and the uniform
 * struct (when `uniforms` is non-empty) at @binding(buffers.length). Each entry
 * point declares exactly the bindings it uses; entry points of one file may
 * reuse binding numbers.
 */
export interface Program {
  /**
   * Shader file in shaders/, e.g. 'conv2d.wgsl', or several compiled as one
   * module (WGSL has no include): a variant file reuses a base file's
   * declarations, and its `enable` directives are hoisted to the top.
   */
  shader: string | readonly string[];
  entryPoint: string;
  /** Bound to the shader's `override WG_X`, `WG_Y`, `WG_Z` (when declared). */
  workgroupSize: [number, number, number];
  /** Other pipeline-overridable constants: they change the compiled pipeline. */
  overrides?: Record<string, number>;
  /** Workgroup counts. */
  dispatch: [number, number, number];
  /** Shapes and scalars, packed in order as 4-byte fields. */
  uniforms: Uniform[];
  /**
   * Uniforms that change every step (an optimizer's step count, a dropout
   * seed): written with writeBuffer into a pooled buffer instead of being
   * cached by content.
   */
  dynamicUniforms?: boolean;
}

/** An array of float32 (or u32) values in GPU memory, with its logical shape. */
export class GpuTensor {
  constructor(
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: 'f32' | 'u32' = 'f32',
  ) {}
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  /** Hands the buffer back to the pool (reusable after the next submit). */
  dispose(): void {
    gpu().pool.release(this.buffer);
  }
  /** The same storage under another shape (Flatten): dispose only one of them. */
  reshape(shape: readonly number[]): GpuTensor {
    return new GpuTensor(this.buffer, shape, this.dtype);
  }
}

/**
 * Free lists keyed by exact byte size, after tfjs buffer_manager.ts. A released
 * buffer waits until the commands already encoded are submitted: a writeBuffer
 * into a reused buffer would otherwise overtake earlier dispatches that read it.
 */
export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  // A Set: a Flatten view and its source share one buffer and both get released.
  private pending = new Set<GPUBuffer>();
  private sizes = new WeakMap<GPUBuffer, number>();
  numBuffers = 0;
  numBytesAllocated = 0;
  numBytesInUse = 0;
  peakBytesInUse = 0;

  constructor(private device: GPUDevice) {}

  acquire(bytes: number): GPUBuffer {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const list = this.free.get(size);
    let buffer = list?.pop();
    if (!buffer) {
      buffer = this.device.createBuffer({ size, usage: STORAGE });
      this.sizes.set(buffer, size);
      this.numBuffers++;
      this.numBytesAllocated += size;
    }
    this.numBytesInUse += size;
    this.peakBytesInUse = Math.max(this.peakBytesInUse, this.numBytesInUse);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    this.pending.add(buffer);
  }

  /** Called after a submit: released buffers become reusable. */
  recycle(): void {
    for (const buffer of this.pending) {
      const size = this.sizes.get(buffer)!;
      this.numBytesInUse -= size;
      let list = this.free.get(size);
      if (!list) this.free.set(size, (list = []));
      list.push(buffer);
    }
    this.pending.clear();
  }
}

export interface AdapterDescription {
  /** e.g. "llvmpipe (LLVM 15.0.6, 256 bits)" or "NVIDIA H100 80GB HBM3". */
  name: string;
  vendor: string;
  architecture: string;
  /** True for a CPU implementation (lavapipe / SwiftShader). */
  software: boolean;
  /** Subgroup size range, or null when the adapter lacks the feature. */
  subgroups: { min: number; max: number } | null;
  timestampQuery: boolean;
}

export class Gpu {
  readonly pool: BufferPool;
  private pipelines = new Map<string, GPUComputePipeline>();
  private pipelineIds = new WeakMap<GPUComputePipeline, number>();
  private modules = new Map<string, { module: GPUShaderModule; code: string }>();
  private uniformCache = new Map<string, GPUBuffer>();
  private dynamicUniforms: GPUBuffer[] = [];
  private dynamicUniformsFree: GPUBuffer[] = [];
  private bindGroups = new Map<string, GPUBindGroup>();
  private ids = new WeakMap<GPUBuffer, number>();
  private nextId = 1;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  /** Dispatches recorded since the process started (for benchmarks and tests). */
  dispatches = 0;
  submits = 0;
  /** Tests set this: every acquired output buffer is filled with NaN first. */
  poisonOutputs = false;

  constructor(
    // Holding the object from create() here keeps it reachable for the life
    // of the process: once it is garbage-collected, Dawn crashes.
    readonly instance: GPU,
    readonly adapter: GPUAdapter,
    readonly device: GPUDevice,
    readonly info: AdapterDescription,
  ) {
    this.pool = new BufferPool(device);
  }

  /** A fresh output buffer for `shape` (float32 or u32 elements). */
  empty(shape: readonly number[], dtype: 'f32' | 'u32' = 'f32'): GpuTensor {
    const size = shape.reduce((a, b) => a * b, 1);
    const buffer = this.acquire(shape, size * 4);
    if (this.poisonOutputs) {
      const poison = new Uint32Array(buffer.size / 4).fill(0x7fc00000); // quiet NaN
      this.device.queue.writeBuffer(buffer, 0, poison);
    }
    return new GpuTensor(buffer, shape, dtype);
  }

  /** Uploads host data (written before any dispatch of the next submit). */
  upload(data: ArrayLike<number>, shape: readonly number[], dtype: 'f32' | 'u32' = 'f32'): GpuTensor {
    const size = shape.reduce((a, b) => a * b, 1);
    if (data.length !== size) {
      throw new Error(`upload: ${data.length} values do not fill shape [${shape.join(', ')}] (${size} expected)`);
    }
    const t = new GpuTensor(this.acquire(shape, size * 4), shape, dtype);
    this.write(t, data);
    return t;
  }

  /** Largest tensor a kernel can bind, in bytes. */
  get maxTensorBytes(): number {
    return this.device.limits.maxStorageBufferBindingSize;
  }

  private acquire(shape: readonly number[], bytes: number): GPUBuffer {
    if (bytes > this.maxTensorBytes) {
      const mib = (b: number) => (b / 2 ** 20).toFixed(0);
      throw new Error(`a tensor of shape [${shape.join(', ')}] needs ${mib(bytes)} MiB, more than this adapter binds (${mib(this.maxTensorBytes)} MiB): use a smaller batch`);
    }
    return this.pool.acquire(bytes);
  }

  /** Overwrites a tensor's contents from the host. */
  write(t: GpuTensor, data: ArrayLike<number>): void {
    const typed = t.dtype === 'u32' ? Uint32Array.from(data) : data instanceof Float32Array ? data : Float32Array.from(data);
    this.device.queue.writeBuffer(t.buffer, 0, typed.buffer, typed.byteOffset, typed.byteLength);
  }

  private module(shader: string | readonly string[]): { module: GPUShaderModule; code: string } {
    const files = typeof shader === 'string' ? [shader] : shader;
    const label = files.join('+');
    let m = this.modules.get(label);
    if (!m) {
      const lines = files.flatMap((f) => readFileSync(join(SHADER_DIR, f), 'utf8').split('\n'));
      const isEnable = (l: string) => /^\s*enable\s+[\w\s,]+;\s*$/.test(l);
      const code = [...lines.filter(isEnable), ...lines.filter((l) => !isEnable(l))].join('\n');
      m = { module: this.device.createShaderModule({ label, code }), code };
      this.modules.set(label, m);
    }
    return m;
  }

  /** Pipelines are keyed by what changes the compiled code, never by shapes. */
  pipeline(p: Program): GPUComputePipeline {
    const [x, y, z] = p.workgroupSize;
    const constants: Record<string, number> = { ...p.overrides };
    const { module, code } = this.module(p.shader);
    const key = JSON.stringify([p.shader, p.entryPoint, x, y, z, constants]);
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      // Only pass WG_* overrides the shader declares: Dawn rejects unknown names.
      for (const [name, v] of [['WG_X', x], ['WG_Y', y], ['WG_Z', z]] as const) {
        if (new RegExp(`override\\s+${name}\\b`).test(code)) constants[name] = v;
      }
      pipeline = this.device.createComputePipeline({
        label: `${[p.shader].flat().join('+')}:${p.entryPoint}`,
        layout: 'auto',
        compute: { module, entryPoint: p.entryPoint, constants },
      });
      this.pipelines.set(key, pipeline);
      this.pipelineIds.set(pipeline, this.pipelines.size);
    }
    return pipeline;
  }

  private id(b: GPUBuffer): number {
    let id = this.ids.get(b);
    if (id === undefined) this.ids.set(b, (id = this.nextId++));
    return id;
  }

  private uniformBuffer(p: Program): GPUBuffer | null {
    if (p.uniforms.length === 0) return null;
    const bytes = new ArrayBuffer(Math.ceil((p.uniforms.length * 4) / 16) * 16);
    const view = new DataView(bytes);
    p.uniforms.forEach((u, i) => {
      if (typeof u === 'number') view.setUint32(i * 4, u, true);
      else if ('f32' in u) view.setFloat32(i * 4, u.f32, true);
      else view.setInt32(i * 4, u.i32, true);
    });
    const usage = GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST;
    if (p.dynamicUniforms) {
      const buffer = this.dynamicUniformsFree.pop() ?? this.device.createBuffer({ size: 256, usage });
      this.device.queue.writeBuffer(buffer, 0, bytes);
      this.dynamicUniforms.push(buffer);
      return buffer;
    }
    const key = Buffer.from(bytes).toString('base64');
    let buffer = this.uniformCache.get(key);
    if (!buffer) {
      buffer = this.device.createBuffer({ size: bytes.byteLength, usage });
      this.device.queue.writeBuffer(buffer, 0, bytes);
      this.uniformCache.set(key, buffer);
    }
    return buffer;
  }

  /** Records one dispatch into the open encoder (nothing runs until submit). */
  run(p: Program, buffers: GPUBuffer[]): void {
    if (p.dispatch.some((d) => d === 0)) return;
    const limit = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (p.dispatch.some((d) => d > limit)) {
      throw new Error(`${[p.shader].flat().join('+')}:${p.entryPoint}: dispatch [${p.dispatch}] exceeds ${limit} workgroups per dimension`);
    }
    const pipeline = this.pipeline(p);
    const uniform = this.uniformBuffer(p);
    const all = uniform ? [...buffers, uniform] : buffers;
    const key = `${this.pipelineIds.get(pipeline)}:${all.map((b) => this.id(b)).join(',')}`;
    let bindGroup = this.bindGroups.get(key);
    if (!bindGroup) {
      if (this.bindGroups.size > 20_000) this.bindGroups.clear();
      bindGroup = this.device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: all.map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      this.bindGroups.set(key, bindGroup);
    }
    if (!this.pass) {
      this.encoder ??= this.device.createCommandEncoder();
      this.pass = this.encoder.beginComputePass();
    }
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(...p.dispatch);
    this.dispatches++;
  }

  /** Records a buffer-to-buffer copy in stream order with the dispatches. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.endPass();
    this.encoder ??= this.device.createCommandEncoder();
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /** Submits everything recorded so far; released buffers become reusable. */
  submit(): void {
    this.endPass();
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
      this.submits++;
    }
    this.pool.recycle();
    this.dynamicUniformsFree.push(...this.dynamicUniforms);
    this.dynamicUniforms = [];
  }

  /** Waits for the GPU to finish all submitted work. */
  async sync(): Promise<void> {
    this.submit();
    await this.device.queue.onSubmittedWorkDone();
  }

  /** Reads a tensor back to the host (submits pending work first). */
  read(t: GpuTensor): Promise<Float32Array> {
    return this.readRange(t, 0, t.size);
  }

  /** Reads `count` elements from element `start` of a tensor. */
  async readRange(t: GpuTensor, start: number, count: number): Promise<Float32Array> {
    const bytes = count * 4;
    const staging = this.device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.copy(t.buffer, start * 4, staging, 0, bytes);
    this.submit();
    await staging.mapAsync(GPUMapMode.READ);
    const out = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
    staging.destroy();
    return out;
  }

  async readU32(t: GpuTensor): Promise<Uint32Array> {
    const f = await this.read(t);
    return new Uint32Array(f.buffer);
  }

  destroy(): void {
    this.device.destroy();
  }
}

/** The machine has no usable WebGPU adapter: a setup problem, not a bug. */
export class NoAdapterError extends Error {}

/** ceil(a / b) for dispatch sizes. */
export const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);

const SINGLETON = Symbol.for('handscan.gpu');
type Holder = { [SINGLETON]?: Gpu };

/** The process's GPU, or throws if `initGpu()` has not completed. */
export function gpu(): Gpu {
  const g = (globalThis as Holder)[SINGLETON];
  if (!g) throw new Error('WebGPU is not initialised: await initGpu() first');
  return g;
}

/**
 * Opens the one device of this process. Throws a clear error, never hangs,
 * when there is no adapter. The result lives on globalThis so that neither it
 * nor Dawn's instance is ever garbage-collected.
 */
export async function initGpu(): Promise<Gpu> {
  const holder = globalThis as Holder;
  if (holder[SINGLETON]) return holder[SINGLETON];
  ensureRuntimeDir();
  Object.assign(globalThis, globals);
  const instance = create([]);
  const adapter = await Promise.race([
    instance.requestAdapter({ powerPreference: 'high-performance' }),
    new Promise<null>((r) => setTimeout(() => r(null), 30_000).unref()),
  ]);
  if (!adapter) {
    throw new NoAdapterError('no WebGPU adapter found: run `bash scripts/setup-webgpu.sh` (installs Mesa lavapipe on Debian/Ubuntu) or install a Vulkan GPU driver');
  }
  const wanted: GPUFeatureName[] = ['subgroups', 'timestamp-query'];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: limits.maxComputeWorkgroupSizeY,
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
    },
  });
  device.addEventListener('uncapturederror', (e) => {
    console.error(`WebGPU error: ${(e as GPUUncapturedErrorEvent).error.message}`);
  });
  const info = adapter.info;
  const name = info.description || info.device || info.vendor || 'unknown adapter';
  const desc: AdapterDescription = {
    name,
    vendor: info.vendor,
    architecture: info.architecture,
    software: /llvmpipe|lavapipe|swiftshader/i.test(`${name} ${info.vendor} ${info.architecture} ${info.device}`),
    subgroups: requiredFeatures.includes('subgroups') ? { min: info.subgroupMinSize, max: info.subgroupMaxSize } : null,
    timestampQuery: requiredFeatures.includes('timestamp-query'),
  };
  const g = new Gpu(instance, adapter, device, desc);
  holder[SINGLETON] = g;
  return g;
}

/** Destroys the device so that the process can exit. */
export function destroyGpu(): void {
  const holder = globalThis as Holder;
  holder[SINGLETON]?.destroy();
  delete holder[SINGLETON];
}

/** Dawn complains unless XDG_RUNTIME_DIR names a writable folder. */
function ensureRuntimeDir(): void {
  if (process.env.XDG_RUNTIME_DIR) return;
  const dir = join(tmpdir(), `handscan-xdg-${process.getuid?.() ?? 0}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  process.env.XDG_RUNTIME_DIR = dir;
}

/**
 * Workgroup counts for `count` independent invocations of a 1-D kernel,
 * folded into y when x would exceed the 65,535 limit. Shaders recover the
 * flat index as gid.x + gid.y * num_workgroups.x * WG_X.
 */
export function dispatch1d(count: number, workgroupSize: number): [number, number, number] {
  const groups = ceilDiv(count, workgroupSize);
  if (groups <= 65_535) return [groups, 1, 1];
  const y = ceilDiv(groups, 65_535);
  return [ceilDiv(groups, y), y, 1];
}
