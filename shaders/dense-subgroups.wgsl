enable subgroups;

// The dense layer's GEMM (see dense.wgsl for the three products it computes,
// the layouts of a, b and c, and the split-K slices) for devices with
// subgroups, in the style of PERF-NOTES.md: a workgroup is exactly one
// subgroup of LANES lanes, tiling ROWS rows × 4·LANES columns of C (dense.ts
// sets LANES, the device's one subgroup size, and ROWS). The tile's rows come
// in 8 blocks of 4; lane q < ROW_LANES loads blocks q, q + ROW_LANES, ... of
// A (rows 4q..4q+3 and so on, ROWS_PER_LANE blocks: one per lane 0-7 with 8
// lanes or more, two per lane with 4) for 4 steps of r, and subgroupBroadcast
// shares them; every lane loads B for its own 4 columns and keeps ROWS rows ×
// 4 columns in vec4 accumulators. Values travel through registers, not
// memory, and every load is a vec4. On lavapipe this 32×32 tile beat 16×32,
// 64×32 and 32×64 (the larger ones spill). Compiled together with dense.wgsl
// (after it), whose bindings, overrides and block loaders it uses.

const ROW_LANES = min(LANES, 8u);
const ROWS_PER_LANE = 8u / ROW_LANES;
// At most 2 blocks per lane (the loads below are written out for 1 and 2);
// ROWS must be the 8 blocks of 4 rows that the eight accumulate lines cover.
const_assert LANES >= 4u && 8u % ROW_LANES == 0u && ROWS == 8u * 4u;

// Rows 4q..4q+3 of the tile (block q, from lane q % ROW_LANES) times this lane's B block.
fn accumulate(acc: ptr<function, array<vec4f, ROWS>>, q: u32, bm: mat4x4f, a0: vec4f, a1: vec4f, a2: vec4f, a3: vec4f) {
  (*acc)[4u * q] += bm * a0;
  (*acc)[4u * q + 1u] += bm * a1;
  (*acc)[4u * q + 2u] += bm * a2;
  (*acc)[4u * q + 3u] += bm * a3;
}

// subgroupBroadcast takes only a constant lane, hence one line per block (a
// loop of subgroupShuffle ran 2-3× slower on lavapipe). Every lane takes part
// in every broadcast: no early return.
@compute @workgroup_size(LANES)
fn gemmSubgroups(@builtin(subgroup_invocation_id) lane: u32, @builtin(workgroup_id) wid: vec3u) {
  let i = wid.y * ROWS;
  let j = (wid.x * LANES + lane) * 4u;
  let s = wid.z;
  let rEnd = min((s + 1u) * p.chunk, p.R);
  var acc: array<vec4f, ROWS>;
  for (var r = s * p.chunk; r < rEnd; r += 4u) {
    let bm = operandB(r, j, rEnd);
    // Block q of the tile is am[q / ROW_LANES] of lane q % ROW_LANES: this
    // lane loads blocks lane and (with 4 lanes) lane + 4, written out rather
    // than looped, as in conv2d-subgroups.wgsl.
    var am: array<mat4x4f, ROWS_PER_LANE>;
    if (lane < ROW_LANES) {
      am[0] = operandA(i + 4u * lane, r, rEnd);
      if (ROWS_PER_LANE == 2u) { am[ROWS_PER_LANE - 1u] = operandA(i + 4u * (ROW_LANES + lane), r, rEnd); }
    }
    accumulate(&acc, 0u, bm, subgroupBroadcast(am[0u / ROW_LANES][0], 0u % ROW_LANES), subgroupBroadcast(am[0u / ROW_LANES][1], 0u % ROW_LANES), subgroupBroadcast(am[0u / ROW_LANES][2], 0u % ROW_LANES), subgroupBroadcast(am[0u / ROW_LANES][3], 0u % ROW_LANES));
    accumulate(&acc, 1u, bm, subgroupBroadcast(am[1u / ROW_LANES][0], 1u % ROW_LANES), subgroupBroadcast(am[1u / ROW_LANES][1], 1u % ROW_LANES), subgroupBroadcast(am[1u / ROW_LANES][2], 1u % ROW_LANES), subgroupBroadcast(am[1u / ROW_LANES][3], 1u % ROW_LANES));
    accumulate(&acc, 2u, bm, subgroupBroadcast(am[2u / ROW_LANES][0], 2u % ROW_LANES), subgroupBroadcast(am[2u / ROW_LANES][1], 2u % ROW_LANES), subgroupBroadcast(am[2u / ROW_LANES][2], 2u % ROW_LANES), subgroupBroadcast(am[2u / ROW_LANES][3], 2u % ROW_LANES));
    accumulate(&acc, 3u, bm, subgroupBroadcast(am[3u / ROW_LANES][0], 3u % ROW_LANES), subgroupBroadcast(am[3u / ROW_LANES][1], 3u % ROW_LANES), subgroupBroadcast(am[3u / ROW_LANES][2], 3u % ROW_LANES), subgroupBroadcast(am[3u / ROW_LANES][3], 3u % ROW_LANES));
    accumulate(&acc, 4u, bm, subgroupBroadcast(am[4u / ROW_LANES][0], 4u % ROW_LANES), subgroupBroadcast(am[4u / ROW_LANES][1], 4u % ROW_LANES), subgroupBroadcast(am[4u / ROW_LANES][2], 4u % ROW_LANES), subgroupBroadcast(am[4u / ROW_LANES][3], 4u % ROW_LANES));
    accumulate(&acc, 5u, bm, subgroupBroadcast(am[5u / ROW_LANES][0], 5u % ROW_LANES), subgroupBroadcast(am[5u / ROW_LANES][1], 5u % ROW_LANES), subgroupBroadcast(am[5u / ROW_LANES][2], 5u % ROW_LANES), subgroupBroadcast(am[5u / ROW_LANES][3], 5u % ROW_LANES));
    accumulate(&acc, 6u, bm, subgroupBroadcast(am[6u / ROW_LANES][0], 6u % ROW_LANES), subgroupBroadcast(am[6u / ROW_LANES][1], 6u % ROW_LANES), subgroupBroadcast(am[6u / ROW_LANES][2], 6u % ROW_LANES), subgroupBroadcast(am[6u / ROW_LANES][3], 6u % ROW_LANES));
    accumulate(&acc, 7u, bm, subgroupBroadcast(am[7u / ROW_LANES][0], 7u % ROW_LANES), subgroupBroadcast(am[7u / ROW_LANES][1], 7u % ROW_LANES), subgroupBroadcast(am[7u / ROW_LANES][2], 7u % ROW_LANES), subgroupBroadcast(am[7u / ROW_LANES][3], 7u % ROW_LANES));
  }
  for (var t = 0u; t < ROWS; t++) { store(s, i + t, j, acc[t]); }
}
