// The WebGPU engine: one device, its shader sources, a pipeline cache, a
// buffer pool, and one command encoder that collects every dispatch until the
// next readback or explicit submit. Kernels never talk to the device
// directly: they describe a Program and hand it to `Engine.run`.
//
// This file is platform-free: it is given a GPUAdapter and the WGSL sources
// by src/platform/node or src/platform/browser, and touches nothing else (no
// file, no global, no Node built-in). Several engines can live in one process.

/** WGSL sources by file name, e.g. { 'conv2d.wgsl': '…' }: read from shaders/ or bundled. */
export type ShaderSources = Readonly<Record<string, string>>;

/** Which GEMM kernels conv2d and dense run; both give the same numbers (tests run both). */
export type KernelPath = 'subgroups' | 'portable';

export interface EngineOptions {
  /** 'auto' (default) takes the subgroup kernels where the adapter allows them. */
  kernelPath?: KernelPath | 'auto';
  /** Largest inference batch; each model caps it further so that every activation fits one binding. */
  inferenceBatch?: number;
  /** Tests: every fresh output buffer is filled with NaN, so a kernel that skips a cell fails. */
  poisonOutputs?: boolean;
  /** Fault injection for tests of error handling: the device is destroyed right after this many submits. */
  destroyDeviceAfterSubmits?: number;
}

/** A throughput choice: big enough to keep a GPU busy, small enough for lavapipe's 128 MiB bindings with the paper's nets. */
export const DEFAULT_INFERENCE_BATCH = 256;

// WebGPU's flag values (fixed by the specification), so that this file needs
// no GPUBufferUsage global.
const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
const MAP_READ = 0x1;
const STORAGE = USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST;

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
  /**
   * Module-scope `const NAME = Vu;` declarations prepended to the shader: for
   * sizes WGSL needs as constant expressions (private array lengths), so that
   * the dispatcher stays their one source of truth.
   */
  constants?: Record<string, number>;
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

/** The kernel a program runs, as error messages and pipeline labels name it. */
export const kernelLabel = (p: Pick<Program, 'shader' | 'entryPoint'>): string => `${[p.shader].flat().join('+')}:${p.entryPoint}`;

/** An array of float32 (or u32) values in GPU memory, with its logical shape. */
export class GpuTensor {
  constructor(
    readonly pool: BufferPool,
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: 'f32' | 'u32' = 'f32',
  ) {}
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  /** Hands the buffer back to the pool (reusable after the next submit). */
  dispose(): void {
    this.pool.release(this.buffer);
  }
  /** The same storage under another shape (Flatten): dispose only one of them. */
  reshape(shape: readonly number[]): GpuTensor {
    return new GpuTensor(this.pool, this.buffer, shape, this.dtype);
  }
}

/**
 * Free lists keyed by exact byte size, after tfjs buffer_manager.ts. A released
 * buffer waits until the commands already encoded are submitted: a writeBuffer
 * into a reused buffer would otherwise overtake earlier dispatches that read it.
 *
 * Each list hands out its oldest buffer first, whatever order buffers came
 * back in: a step that repeats the last one's requests then gets the same
 * buffers, so the engine's cached bind groups stop growing after one epoch.
 */
export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  // A Set: a Flatten view and its source share one buffer and both get released.
  private pending = new Set<GPUBuffer>();
  private sizes = new WeakMap<GPUBuffer, number>();
  private ages = new WeakMap<GPUBuffer, number>();
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
      this.ages.set(buffer, this.numBuffers);
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
    const touched = new Set<GPUBuffer[]>();
    for (const buffer of this.pending) {
      const size = this.sizes.get(buffer)!;
      this.numBytesInUse -= size;
      let list = this.free.get(size);
      if (!list) this.free.set(size, (list = []));
      list.push(buffer);
      touched.add(list);
    }
    this.pending.clear();
    // Oldest last, where pop() takes it.
    for (const list of touched) list.sort((a, b) => this.ages.get(b)! - this.ages.get(a)!);
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

/** The machine has no usable WebGPU adapter: a setup problem, not a bug. */
export class NoAdapterError extends Error {}

/**
 * The device failed an operation (validation, out of memory) or was lost.
 * The engine is unusable afterwards: a long-lived caller opens a new one.
 */
export class DeviceError extends Error {
  readonly exitCode = 1;
}

/** The device is gone (destroyed, a driver reset, a crashed GPU process). */
export class DeviceLostError extends DeviceError {}

/** A tensor larger than the adapter can bind: the caller asked for too big a batch. */
export class TensorTooLargeError extends Error {}

/** Counts of what the engine holds, for the memory tests and benchmarks. */
export interface EngineCounts {
  buffers: number;
  bytesAllocated: number;
  uniformBuffers: number;
  bindGroups: number;
  pipelines: number;
  stagingBuffers: number;
}

export class Engine {
  readonly pool: BufferPool;
  readonly options: Readonly<Required<Omit<EngineOptions, 'destroyDeviceAfterSubmits'>>> & Pick<EngineOptions, 'destroyDeviceAfterSubmits'>;
  /** The kernels conv2d and dense run by default, resolved from the options and the adapter. */
  readonly kernelPath: KernelPath;
  /** Lanes of a subgroup workgroup where the subgroup kernels can run here, else null. */
  readonly subgroupSize: number | null;
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
  /** Kernels recorded since the last submit, and those of the last submit, for error messages. */
  private recorded = new Set<string>();
  private lastSubmitted: string[] = [];
  /** Error scopes of submitted work not yet checked, each with the kernels it ran. */
  private unchecked: Promise<DeviceError | null>[] = [];
  private scopeOpen = false;
  private failure: DeviceError | null = null;
  private closed = false;
  private liveStaging = 0;
  /** Dispatches recorded since the engine opened (for benchmarks and tests). */
  dispatches = 0;
  submits = 0;
  /** Every fresh output buffer is filled with NaN first (see EngineOptions). */
  poisonOutputs: boolean;

  constructor(
    readonly device: GPUDevice,
    private readonly shaders: ShaderSources,
    readonly info: AdapterDescription,
    options: EngineOptions = {},
  ) {
    this.options = { kernelPath: 'auto', inferenceBatch: DEFAULT_INFERENCE_BATCH, poisonOutputs: false, ...options };
    this.poisonOutputs = this.options.poisonOutputs;
    this.pool = new BufferPool(device);
    const sg = info.subgroups;
    // One known size (min = max), so that a workgroup of that many invocations
    // is exactly one subgroup, and at least 4 lanes: the GEMM tiles broadcast
    // groups of 8 rows, one row per lane from 8 lanes up, two per lane at 4.
    const lanes = sg && sg.min === sg.max && sg.min >= 4 ? sg.min : null;
    if (this.options.kernelPath === 'subgroups' && lanes === null) {
      throw new Error(`kernelPath 'subgroups' needs one fixed subgroup size ≥ 4; ${info.name} has ${JSON.stringify(sg)}`);
    }
    this.subgroupSize = lanes;
    this.kernelPath = this.options.kernelPath === 'portable' || lanes === null ? 'portable' : 'subgroups';
    device.addEventListener('uncapturederror', (e) => {
      this.failure ??= new DeviceError(`WebGPU ${errorKind((e as GPUUncapturedErrorEvent).error)}: ${firstLine((e as GPUUncapturedErrorEvent).error.message)}`);
    });
    void device.lost.then((lost) => {
      if (!this.closed) this.failure ??= new DeviceLostError(`WebGPU device lost (${lost.reason}): ${firstLine(lost.message) || 'no reason given'}`);
    });
  }

  /** Lanes for the subgroup kernels on `path`, or null for the portable ones. */
  lanes(path: KernelPath, kernel: string): number | null {
    if (path === 'portable') return null;
    if (this.subgroupSize === null) throw new Error(`${kernel}: the subgroup kernels need one fixed subgroup size ≥ 4; ${this.info.name} has ${JSON.stringify(this.info.subgroups)}`);
    return this.subgroupSize;
  }

  /** The inference batch for a model whose largest activation has `activationValues` values per sample (see Backend). */
  inferenceBatch(activationValues: number, requested = this.options.inferenceBatch): number {
    return Math.max(1, Math.min(requested, Math.floor(this.maxTensorBytes / (4 * activationValues))));
  }

  /** A fresh output buffer for `shape` (float32 or u32 elements). */
  empty(shape: readonly number[], dtype: 'f32' | 'u32' = 'f32'): GpuTensor {
    const size = shape.reduce((a, b) => a * b, 1);
    const buffer = this.acquire(shape, size * 4);
    if (this.poisonOutputs) {
      const poison = new Uint32Array(buffer.size / 4).fill(0x7fc00000); // quiet NaN
      this.device.queue.writeBuffer(buffer, 0, poison);
    }
    return new GpuTensor(this.pool, buffer, shape, dtype);
  }

  /** Uploads host data (written before any dispatch of the next submit). */
  upload(data: ArrayLike<number>, shape: readonly number[], dtype: 'f32' | 'u32' = 'f32'): GpuTensor {
    const size = shape.reduce((a, b) => a * b, 1);
    if (data.length !== size) {
      throw new Error(`upload: ${data.length} values do not fill shape [${shape.join(', ')}] (${size} expected)`);
    }
    const t = new GpuTensor(this.pool, this.acquire(shape, size * 4), shape, dtype);
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
      throw new TensorTooLargeError(`a tensor of shape [${shape.join(', ')}] needs ${mib(bytes)} MiB, more than this adapter binds (${mib(this.maxTensorBytes)} MiB): use a smaller batch`);
    }
    this.openScope();
    return this.pool.acquire(bytes);
  }

  /** Overwrites a tensor's contents from the host. */
  write(t: GpuTensor, data: ArrayLike<number>): void {
    const typed = t.dtype === 'u32' ? Uint32Array.from(data) : data instanceof Float32Array ? data : Float32Array.from(data);
    this.device.queue.writeBuffer(t.buffer, 0, typed.buffer, typed.byteOffset, typed.byteLength);
  }

  private module(p: Program): { module: GPUShaderModule; code: string } {
    const files = typeof p.shader === 'string' ? [p.shader] : p.shader;
    const constants = Object.entries(p.constants ?? {}).map(([name, v]) => `const ${name} = ${v}u;`);
    const key = JSON.stringify([files, constants]);
    let m = this.modules.get(key);
    if (!m) {
      const lines = files.flatMap((f) => {
        const source = this.shaders[f];
        if (source === undefined) throw new Error(`${f}: no such shader among the engine's ${Object.keys(this.shaders).length} sources`);
        return source.split('\n');
      });
      const isEnable = (l: string) => /^\s*enable\s+[\w\s,]+;\s*$/.test(l);
      const code = [...lines.filter(isEnable), ...constants, ...lines.filter((l) => !isEnable(l))].join('\n');
      m = { module: this.device.createShaderModule({ label: files.join('+'), code }), code };
      this.modules.set(key, m);
    }
    return m;
  }

  /** Pipelines are keyed by what changes the compiled code, never by shapes. */
  pipeline(p: Program): GPUComputePipeline {
    const [x, y, z] = p.workgroupSize;
    const constants: Record<string, number> = { ...p.overrides };
    const key = JSON.stringify([p.shader, p.constants, p.entryPoint, x, y, z, constants]);
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      // Compiling is where a shader error shows: its own scope names the kernel.
      this.device.pushErrorScope('validation');
      const { module, code } = this.module(p);
      // Only pass WG_* overrides the shader declares: Dawn rejects unknown names.
      for (const [name, v] of [['WG_X', x], ['WG_Y', y], ['WG_Z', z]] as const) {
        if (new RegExp(`override\\s+${name}\\b`).test(code)) constants[name] = v;
      }
      pipeline = this.device.createComputePipeline({
        label: kernelLabel(p),
        layout: 'auto',
        compute: { module, entryPoint: p.entryPoint, constants },
      });
      const label = kernelLabel(p);
      this.unchecked.push(this.device.popErrorScope().then((e) => (e ? new DeviceError(`WebGPU ${errorKind(e)} compiling kernel ${label}: ${firstLine(e.message)}`) : null)));
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
    const usage = USAGE.UNIFORM | USAGE.COPY_DST;
    if (p.dynamicUniforms) {
      const buffer = this.dynamicUniformsFree.pop() ?? this.device.createBuffer({ size: 256, usage });
      this.device.queue.writeBuffer(buffer, 0, bytes);
      this.dynamicUniforms.push(buffer);
      return buffer;
    }
    const key = Array.from(new Uint32Array(bytes)).join(',');
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
    const label = kernelLabel(p);
    this.throwIfFailed(`kernel ${label}`);
    if (p.dispatch.some((d) => d === 0)) return;
    const limit = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (p.dispatch.some((d) => d > limit)) {
      throw new Error(`${label}: dispatch [${p.dispatch}] exceeds ${limit} workgroups per dimension`);
    }
    this.openScope();
    this.recorded.add(label);
    const pipeline = this.pipeline(p);
    const uniform = this.uniformBuffer(p);
    const all = uniform ? [...buffers, uniform] : buffers;
    const key = `${this.pipelineIds.get(pipeline)}:${all.map((b) => this.id(b)).join(',')}`;
    let bindGroup = this.bindGroups.get(key);
    if (!bindGroup) {
      if (this.bindGroups.size > 20_000) this.bindGroups.clear();
      bindGroup = this.device.createBindGroup({
        label,
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

  /** Records a copy of `count` elements in stream order with the dispatches. */
  copy(src: GpuTensor, srcStart: number, dst: GpuTensor, dstStart: number, count: number): void {
    if (srcStart + count > src.size || dstStart + count > dst.size) {
      throw new RangeError(`copy: ${count} elements from ${srcStart} of [${src.shape}] to ${dstStart} of [${dst.shape}] run past an end`);
    }
    this.copyBuffer(src.buffer, srcStart * 4, dst.buffer, dstStart * 4, count * 4);
  }

  private copyBuffer(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.throwIfFailed();
    this.openScope();
    this.recorded.add('copy');
    this.endPass();
    this.encoder ??= this.device.createCommandEncoder();
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /**
   * Errors of WebGPU calls surface asynchronously. Every call between two
   * submits runs inside one pair of error scopes, so that an error is tied to
   * the submit (and its kernels) that caused it instead of going to the console.
   */
  private openScope(): void {
    if (this.scopeOpen) return;
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    this.scopeOpen = true;
  }

  /** Submits everything recorded so far; released buffers become reusable. */
  submit(): void {
    if (this.recorded.size > 0) this.throwIfFailed(describeKernels('', [...this.recorded]));
    this.endPass();
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
      this.submits++;
    }
    this.lastSubmitted = [...this.recorded];
    if (this.scopeOpen) {
      const kernels = this.lastSubmitted;
      const scopes = [this.device.popErrorScope(), this.device.popErrorScope()];
      this.unchecked.push(Promise.all(scopes).then((errors) => {
        const error = errors.find((e) => e !== null);
        return error ? new DeviceError(`WebGPU ${errorKind(error)} in ${describeKernels(error.message, kernels)}: ${firstLine(error.message)}`) : null;
      }));
      this.scopeOpen = false;
      this.recorded.clear();
    }
    this.pool.recycle();
    // Reversed, so that the next submit's i-th dynamic uniform is this one's
    // i-th buffer again (and its bind group a cache hit).
    this.dynamicUniformsFree.push(...this.dynamicUniforms.reverse());
    this.dynamicUniforms = [];
    if (this.submits === this.options.destroyDeviceAfterSubmits) this.device.destroy();
  }

  /** Records the first device error of work submitted so far. */
  private async collectErrors(): Promise<void> {
    const errors = await Promise.all(this.unchecked.splice(0));
    this.failure ??= errors.find((e) => e !== null) ?? null;
  }

  /** Throws the engine's first failure, naming `doing` (a kernel, a submit) when given. */
  private throwIfFailed(doing?: string): void {
    const failure = this.failure ?? (this.closed ? new DeviceError('the WebGPU engine was closed') : null);
    if (!failure) return;
    throw doing ? new DeviceError(`${failure.message} (at ${doing})`) : failure;
  }

  /** Waits for the GPU to finish all submitted work; throws its device errors. */
  async sync(): Promise<void> {
    this.submit();
    await this.settle(this.device.queue.onSubmittedWorkDone());
  }

  /** Reads a tensor back to the host (submits pending work first). */
  read(t: GpuTensor): Promise<Float32Array> {
    return this.readRange(t, 0, t.size);
  }

  /** Reads `count` elements from element `start` of a tensor. */
  async readRange(t: GpuTensor, start: number, count: number): Promise<Float32Array> {
    if (start < 0 || start + count > t.size) throw new RangeError(`readRange: elements ${start}..${start + count} of a tensor of ${t.size}`);
    const bytes = count * 4;
    this.openScope();
    const staging = this.device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: USAGE.MAP_READ | USAGE.COPY_DST });
    this.liveStaging++;
    try {
      this.copyBuffer(t.buffer, start * 4, staging, 0, bytes);
      this.submit();
      await this.settle(staging.mapAsync(MAP_READ));
      return new Float32Array(staging.getMappedRange(0, bytes).slice(0));
    } finally {
      staging.destroy();
      this.liveStaging--;
    }
  }

  /** Awaits GPU work, turning a rejection on a lost device and any scoped error into one DeviceError. */
  private async settle(work: Promise<unknown>): Promise<void> {
    let rejection: Error | null = null;
    try {
      await work;
    } catch (e) {
      rejection = e as Error;
      // Losing the device is reported through device.lost a moment after the rejection.
      await new Promise((r) => setTimeout(r, 0));
    }
    await this.collectErrors();
    // A scoped error names its kernels already; a lost device is named by what it was running.
    const doing = describeKernels('', this.lastSubmitted);
    if (this.failure instanceof DeviceLostError) this.throwIfFailed(doing);
    this.throwIfFailed();
    if (rejection) throw new DeviceError(`WebGPU: ${firstLine(rejection.message)} (at ${doing})`);
  }

  async readU32(t: GpuTensor): Promise<Uint32Array> {
    const f = await this.read(t);
    return new Uint32Array(f.buffer);
  }

  /** What the engine holds: pool buffers, cached uniforms and bind groups, pipelines, staging buffers in flight. */
  counts(): EngineCounts {
    return {
      buffers: this.pool.numBuffers,
      bytesAllocated: this.pool.numBytesAllocated,
      uniformBuffers: this.uniformCache.size + this.dynamicUniforms.length + this.dynamicUniformsFree.length,
      bindGroups: this.bindGroups.size,
      pipelines: this.pipelines.size,
      stagingBuffers: this.liveStaging,
    };
  }

  /** Destroys the device: a Node process can exit only once its device is gone. */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.device.destroy();
  }
}

const firstLine = (s: string): string => s.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? '';

function errorKind(e: GPUError): string {
  return e.constructor?.name === 'GPUOutOfMemoryError' || /out of memory/i.test(e.message) ? 'out-of-memory error' : 'validation error';
}

/** The kernel a device error names (Dawn quotes object labels), else every kernel of the submit. */
function describeKernels(message: string, kernels: readonly string[]): string {
  const named = kernels.filter((k) => message.includes(`"${k}"`));
  const list = named.length > 0 ? named : kernels;
  if (list.length === 1) return `kernel ${list[0]}`;
  const shown = list.slice(0, 3).join(', ');
  return `a submit of ${list.length} kernels (${list.length > 3 ? `${shown}, …` : shown})`;
}

/** The features and limits the kernels use, as far as the adapter has them. */
export async function openDevice(adapter: GPUAdapter): Promise<{ device: GPUDevice; info: AdapterDescription }> {
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
  const a = adapter.info;
  // Chromium leaves description and device empty: name it by vendor and architecture ("google swiftshader").
  const name = a.description || [a.vendor, a.architecture, a.device].filter(Boolean).join(' ') || 'unknown adapter';
  const info: AdapterDescription = {
    name,
    vendor: a.vendor,
    architecture: a.architecture,
    software: /llvmpipe|lavapipe|swiftshader/i.test(`${name} ${a.vendor} ${a.architecture} ${a.device}`),
    subgroups: requiredFeatures.includes('subgroups') ? { min: a.subgroupMinSize, max: a.subgroupMaxSize } : null,
    timestampQuery: requiredFeatures.includes('timestamp-query'),
  };
  return { device, info };
}

/** Opens an engine on an adapter that a platform found. */
export async function createEngine(adapter: GPUAdapter | null, shaders: ShaderSources, options: EngineOptions = {}, setupHint = ''): Promise<Engine> {
  if (!adapter) throw new NoAdapterError(`no WebGPU adapter found${setupHint ? `: ${setupHint}` : ''}`);
  const { device, info } = await openDevice(adapter);
  return new Engine(device, shaders, info, options);
}

/** ceil(a / b) for dispatch sizes. */
export const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);

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
