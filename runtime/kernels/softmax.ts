// Softmax along the last axis, one row per invocation (vec4 when the row length allows): a max
// pass, a sum-of-exponentials pass and a write pass. On CPUs (lavapipe) this beats a workgroup per
// row, whose barriers cost more than the parallelism wins.

import {
  BUILTINS,
  DEFAULT_TARGET,
  declareBindings,
  F32_BITS,
  flatIndex,
  grid,
  type Kernel,
  type KernelTarget,
} from "./kernel.ts";

export interface RowSpec {
  readonly rows: number;
  readonly length: number;
}

export function rowWorkgroup(rows: number): number {
  return rows >= 4096 ? 64 : 16;
}

export function softmaxKernel(spec: RowSpec, target: KernelTarget = DEFAULT_TARGET): Kernel {
  const { rows, length } = spec;
  const vec = length % 4 === 0;
  const w = vec ? length / 4 : length;
  const wg = rowWorkgroup(rows);
  const dispatch = grid(Math.ceil(rows / wg), target);
  const T = vec ? "vec4<f32>" : "f32";
  const hmax = vec ? "max(max(m.x, m.y), max(m.z, m.w))" : "m";
  const hsum = vec ? "(s.x + s.y) + (s.z + s.w)" : "s";
  const bindings = [
    { name: "x", access: "read" as const },
    { name: "y", access: "read_write" as const },
  ];
  const body = [
    `@compute @workgroup_size(${wg})`,
    `fn main(${BUILTINS}) {`,
    `  let row = ${flatIndex(wg, dispatch)};`,
    `  if (row >= ${rows}u) {`,
    "    return;",
    "  }",
    `  let base = row * ${w}u;`,
    `  var m = ${T}(f32_bits(0xff800000u));`,
    `  for (var j = 0u; j < ${w}u; j++) {`,
    "    m = max(m, x[base + j]);",
    "  }",
    `  let mx = ${hmax};`,
    `  var s = ${T}(0.0f);`,
    `  for (var j = 0u; j < ${w}u; j++) {`,
    "    s += exp(x[base + j] - mx);",
    "  }",
    `  let inv = 1.0f / (${hsum});`,
    `  for (var j = 0u; j < ${w}u; j++) {`,
    "    y[base + j] = exp(x[base + j] - mx) * inv;",
    "  }",
    "}",
  ].join("\n");
  return {
    name: `softmax_rows[${rows}x${length}]`,
    code: `${declareBindings(bindings, [T, T])}\n\n${F32_BITS}\n\n${body}\n`,
    bindings,
    workgroupSize: [wg, 1, 1],
    dispatch,
  };
}
