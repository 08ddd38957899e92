enable subgroups;

// The dense layer's GEMM (see dense.wgsl for the three products it computes,
// the layouts of a, b and c, and the split-K slices) for devices with
// subgroups, in the style of PERF-NOTES.md: a workgroup is exactly one
// subgroup of WG_X lanes (WG_X = the device's one subgroup size, ≥ 8, read at
// run time), tiling 32 rows × 4·WG_X columns of C. Lane q < 8 loads A's rows
// 4q..4q+3 for 4 steps of r and subgroupBroadcast shares them; every lane
// loads B for its own 4 columns and keeps 32 rows × 4 columns in vec4
// accumulators. Values travel through registers, not memory, and every load
// is a vec4. On lavapipe this 32×32 tile beat 16×32, 64×32 and 32×64 (the
// larger ones spill). Compiled together with dense.wgsl (after it), whose
// bindings, overrides and block loaders it uses.

// Rows 4q..4q+3 of the tile (from lane q) times this lane's B block.
fn accumulate(acc: ptr<function, array<vec4f, 32>>, q: u32, bm: mat4x4f, a0: vec4f, a1: vec4f, a2: vec4f, a3: vec4f) {
  (*acc)[4u * q] += bm * a0;
  (*acc)[4u * q + 1u] += bm * a1;
  (*acc)[4u * q + 2u] += bm * a2;
  (*acc)[4u * q + 3u] += bm * a3;
}

// subgroupBroadcast takes only a constant lane, hence one line per lane (a
// loop of subgroupShuffle ran 2-3× slower on lavapipe). Every lane takes part
// in every broadcast: no early return.
@compute @workgroup_size(WG_X)
fn gemmSubgroups(@builtin(subgroup_invocation_id) lane: u32, @builtin(workgroup_id) wid: vec3u) {
  let i = wid.y * 32u;
  let j = (wid.x * WG_X + lane) * 4u;
  let s = wid.z;
  let rEnd = min((s + 1u) * p.chunk, p.R);
  var acc: array<vec4f, 32>;
  for (var r = s * p.chunk; r < rEnd; r += 4u) {
    let bm = operandB(r, j, rEnd);
    var am = mat4x4f();
    if (lane < 8u) { am = operandA(i + 4u * lane, r, rEnd); }
    accumulate(&acc, 0u, bm, subgroupBroadcast(am[0], 0u), subgroupBroadcast(am[1], 0u), subgroupBroadcast(am[2], 0u), subgroupBroadcast(am[3], 0u));
    accumulate(&acc, 1u, bm, subgroupBroadcast(am[0], 1u), subgroupBroadcast(am[1], 1u), subgroupBroadcast(am[2], 1u), subgroupBroadcast(am[3], 1u));
    accumulate(&acc, 2u, bm, subgroupBroadcast(am[0], 2u), subgroupBroadcast(am[1], 2u), subgroupBroadcast(am[2], 2u), subgroupBroadcast(am[3], 2u));
    accumulate(&acc, 3u, bm, subgroupBroadcast(am[0], 3u), subgroupBroadcast(am[1], 3u), subgroupBroadcast(am[2], 3u), subgroupBroadcast(am[3], 3u));
    accumulate(&acc, 4u, bm, subgroupBroadcast(am[0], 4u), subgroupBroadcast(am[1], 4u), subgroupBroadcast(am[2], 4u), subgroupBroadcast(am[3], 4u));
    accumulate(&acc, 5u, bm, subgroupBroadcast(am[0], 5u), subgroupBroadcast(am[1], 5u), subgroupBroadcast(am[2], 5u), subgroupBroadcast(am[3], 5u));
    accumulate(&acc, 6u, bm, subgroupBroadcast(am[0], 6u), subgroupBroadcast(am[1], 6u), subgroupBroadcast(am[2], 6u), subgroupBroadcast(am[3], 6u));
    accumulate(&acc, 7u, bm, subgroupBroadcast(am[0], 7u), subgroupBroadcast(am[1], 7u), subgroupBroadcast(am[2], 7u), subgroupBroadcast(am[3], 7u));
  }
  for (var t = 0u; t < 32u; t++) { store(s, i + t, j, acc[t]); }
}
