// Softmax along the last axis, one row per invocation (vec4 when the row length allows): a max
// pass, a sum-of-exponentials pass and a write pass. On CPUs (lavapipe) this beats a workgroup per
// row, whose barriers cost more than the parallelism wins.

import { type ElementwiseProgram, programFunction, programHelpers, programOps } from "./elementwise.ts";
import {
  DEFAULT_TARGET,
  declareBindings,
  f32BitsPrefix,
  grid,
  guardedMain,
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

/**
 * The launch shared by the one-row-per-invocation kernels: rows read as vec4 (`T`) when the length
 * allows and no prologue is folded in, `w` elements of `T` per row, and `main`, the entry point's
 * opening lines ending with `let base` (the row's first element); the caller appends the body.
 */
export function rowLaunch(spec: RowSpec, target: KernelTarget) {
  const pro = prologueOf(spec.prologue);
  const vec = spec.length % 4 === 0 && !spec.prologue;
  const w = vec ? spec.length / 4 : spec.length;
  const wg = rowWorkgroup(spec.rows);
  const dispatch = grid(Math.ceil(spec.rows / wg), target);
  const T = vec ? "vec4<f32>" : "f32";
  const main = [...guardedMain(wg, dispatch, "row", spec.rows), `  let base = row * ${w}u;`];
  return { pro, vec, w, wg, dispatch, T, main };
}

export function softmaxKernel(spec: RowSpec, target: KernelTarget = DEFAULT_TARGET): Kernel {
  const { rows, length } = spec;
  const { pro, vec, w, wg, dispatch, T, main } = rowLaunch(spec, target);
  const hmax = vec ? "max(max(m.x, m.y), max(m.z, m.w))" : "m";
  const hsum = vec ? "(s.x + s.y) + (s.z + s.w)" : "s";
  const bindings = [...pro.bindings, { name: "y", access: "read_write" as const }];
  const body = [
    ...main,
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
    code: `${declareBindings(bindings, [...(spec.prologue ? pro.types : [T]), T])}\n\n${f32BitsPrefix(body, pro.fn)}${pro.fn}${body}\n`,
    bindings,
    workgroupSize: [wg, 1, 1],
    dispatch,
  };
}
