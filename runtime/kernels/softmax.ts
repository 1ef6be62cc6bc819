// Softmax along the last axis, one row per invocation (vec4 when the row length allows): a max
// pass, a sum-of-exponentials pass and a write pass. On CPUs (lavapipe) this beats a workgroup per
// row, whose barriers cost more than the parallelism wins.

import { type ElementwiseProgram, programFunction, programHelpers, programOps } from "./elementwise.ts";
import {
  BUILTINS,
  DEFAULT_TARGET,
  declareBindings,
  F32_BITS,
  flatIndex,
  grid,
  type Kernel,
  type KernelBinding,
  type KernelTarget,
  storageType,
} from "./kernel.ts";

export interface RowSpec {
  readonly rows: number;
  readonly length: number;
  /**
   * The elementwise producer of x folded in (scale, mask, residual add): a program of x's shape,
   * evaluated where x would be read; its operands replace the x binding. Rows are then read as scalars.
   */
  readonly prologue?: ElementwiseProgram;
}

/** The bindings that replace x when a prologue is folded in, and how to read x at a flat position. */
export function prologueOf(p: ElementwiseProgram | undefined): {
  bindings: KernelBinding[];
  types: string[];
  fn: string;
  read: (at: string) => string;
  tag: string;
} {
  if (!p) {
    return {
      bindings: [{ name: "x", access: "read" }],
      types: [],
      fn: "",
      read: (at) => `x[${at}]`,
      tag: "",
    };
  }
  const names = p.operands.map((_, k) => `p${k}`);
  const fn = programFunction(p, "load_x", names);
  const pre = programHelpers(fn);
  return {
    bindings: names.map((name) => ({ name, access: "read" as const })),
    types: p.operands.map((o) => storageType(o.dtype)),
    fn: `${pre ? `${pre}\n\n` : ""}${fn}\n\n`,
    read: (at) => `load_x(${at})`,
    tag: `+${programOps(p)}ops`,
  };
}

export function rowWorkgroup(rows: number): number {
  return rows >= 4096 ? 64 : 16;
}

export function softmaxKernel(spec: RowSpec, target: KernelTarget = DEFAULT_TARGET): Kernel {
  const { rows, length } = spec;
  const pro = prologueOf(spec.prologue);
  const vec = length % 4 === 0 && !spec.prologue;
  const w = vec ? length / 4 : length;
  const wg = rowWorkgroup(rows);
  const dispatch = grid(Math.ceil(rows / wg), target);
  const T = vec ? "vec4<f32>" : "f32";
  const hmax = vec ? "max(max(m.x, m.y), max(m.z, m.w))" : "m";
  const hsum = vec ? "(s.x + s.y) + (s.z + s.w)" : "s";
  const bindings = [...pro.bindings, { name: "y", access: "read_write" as const }];
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
    `    m = max(m, ${pro.read("base + j")});`,
    "  }",
    `  let mx = ${hmax};`,
    `  var s = ${T}(0.0f);`,
    `  for (var j = 0u; j < ${w}u; j++) {`,
    `    s += exp(${pro.read("base + j")} - mx);`,
    "  }",
    `  let inv = 1.0f / (${hsum});`,
    `  for (var j = 0u; j < ${w}u; j++) {`,
    `    y[base + j] = exp(${pro.read("base + j")} - mx) * inv;`,
    "  }",
    "}",
  ].join("\n");
  return {
    name: `softmax_rows[${rows}x${length}${pro.tag}]`,
    code: `${declareBindings(bindings, [...(spec.prologue ? pro.types : [T]), T])}\n\n${spec.prologue && pro.fn.includes("fn f32_bits") ? "" : `${F32_BITS}\n\n`}${pro.fn}${body}\n`,
    bindings,
    workgroupSize: [wg, 1, 1],
    dispatch,
  };
}
