// Softmax along the last axis, one row per invocation: an online pass (running max and a sum of
// exponentials rescaled to it, a chunk of the row at a time) then a write pass, so x is read twice,
// not three times. Rows are read as vec4 or vec2 when the length allows. On lavapipe every storage
// access is scalarised per lane and costs about what an exp does, so loads, stores and exps bound the
// kernel. Holding rows in registers (fully unrolled) or a workgroup of 8 per row compiled in 6-13 s
// and ran no faster there.

import {
  type ElementwiseProgram,
  programFunction,
  programHelpers,
  programOps,
  programVectorFunction,
} from "./elementwise.ts";
import {
  DEFAULT_TARGET,
  declareBindings,
  grid,
  guardedMain,
  type Kernel,
  type KernelBinding,
  type KernelTarget,
  literal,
  loopBound,
  storageType,
} from "./kernel.ts";

const F32_MAX = 3.4028234663852886e38;

export interface RowSpec {
  readonly rows: number;
  readonly length: number;
  /**
   * The elementwise producer of x folded in (scale, mask, residual add): a program of x's shape,
   * evaluated where x would be read; its operands replace the x binding.
   */
  readonly prologue?: ElementwiseProgram;
}

/**
 * The bindings that replace x when a prologue is folded in, and how to read x at a position: an
 * element, or with `width` > 1 the vector of `width` elements at vector position `at` (the prologue
 * evaluated over them, its operands read as vectors where they run along the row).
 */
export function prologueOf(
  p: ElementwiseProgram | undefined,
  width: 1 | 2 | 4 = 1,
): {
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
  const { code: fn, types } =
    width === 1
      ? { code: programFunction(p, "load_x", names), types: p.operands.map((o) => storageType(o.dtype)) }
      : programVectorFunction(p, "load_x", names, width);
  const pre = programHelpers(fn);
  return {
    bindings: names.map((name) => ({ name, access: "read" as const })),
    types,
    fn: `${pre ? `${pre}\n\n` : ""}${fn}\n\n`,
    read: (at) => `load_x(${at})`,
    tag: `+${programOps(p)}ops`,
  };
}

/** A row read `width` elements at a time: the WGSL type and its horizontal max and sum. */
export interface RowVector {
  readonly width: 1 | 2 | 4;
  readonly type: string;
  readonly hmax: (v: string) => string;
  readonly hsum: (v: string) => string;
}

/** The widest vector a row of `length` reads as. */
export function rowVector(length: number): RowVector {
  const width = length % 4 === 0 ? 4 : length % 2 === 0 ? 2 : 1;
  if (width === 4)
    return {
      width,
      type: "vec4<f32>",
      hmax: (v) => `max(max(${v}.x, ${v}.y), max(${v}.z, ${v}.w))`,
      hsum: (v) => `((${v}.x + ${v}.y) + (${v}.z + ${v}.w))`,
    };
  if (width === 2)
    return { width, type: "vec2<f32>", hmax: (v) => `max(${v}.x, ${v}.y)`, hsum: (v) => `(${v}.x + ${v}.y)` };
  return { width, type: "f32", hmax: (v) => v, hsum: (v) => v };
}

/** `terms` combined pairwise (a balanced tree: shorter dependency chains than a left fold). */
function pairwise(terms: readonly string[], op: (a: string, b: string) => string): string {
  let t = [...terms];
  while (t.length > 1) {
    const next: string[] = [];
    for (let i = 0; i < t.length; i += 2) next.push(i + 1 < t.length ? op(t[i]!, t[i + 1]!) : t[i]!);
    t = next;
  }
  return t[0]!;
}

/**
 * Vectors per chunk of the online pass, by vector width: the chunk's rescale costs one exp. Measured on
 * lavapipe (driver CPU time, 2-core machine): wider chunks of vec2 or scalars ran slower and compiled in
 * 2-8 s (8 scalars with a folded add over rows of 50: 6.4 s); these compile in 0.2-0.6 s. Loop bounds
 * are opaque (loopBound): fully unrolled, [19200,50] took 6.6 s to compile and ran slower.
 */
const CHUNK_VECTORS: Readonly<Record<1 | 2 | 4, number>> = { 4: 4, 2: 2, 1: 4 };
/**
 * The same with a folded producer, evaluated inline at every read: 4 vec4 per chunk compiled in 1.2-2.2 s
 * ([96,64,64] with scale and mask, shader cache off, load 4) and ran no faster than 2 (0.19 s).
 */
const PROLOGUE_CHUNK_VECTORS: Readonly<Record<1 | 2 | 4, number>> = { 4: 2, 2: 2, 1: 4 };

export function softmaxKernel(spec: RowSpec, target: KernelTarget = DEFAULT_TARGET): Kernel {
  const { rows, length } = spec;
  const vec = rowVector(length);
  const pro = prologueOf(spec.prologue, vec.width);
  const w = length / vec.width;
  const wg = rows >= 4096 ? 64 : 16;
  const dispatch = grid(Math.ceil(rows / wg), target);
  const chunk = Math.min(w, (spec.prologue ? PROLOGUE_CHUNK_VECTORS : CHUNK_VECTORS)[vec.width]);
  const full = Math.floor(w / chunk);
  // One online step over `n` vectors from `at`: the chunk's max, then the sum rescaled to it.
  const step = (indent: string, at: string, n: number) => {
    const a = Array.from({ length: n }, (_, k) => `a${k}`);
    return [
      ...a.map((v, k) => `${indent}let ${v} = ${pro.read(k === 0 ? at : `${at} + ${k}u`)};`),
      `${indent}let cv = ${pairwise(a, (p, q) => `max(${p}, ${q})`)};`,
      `${indent}let mn = max(m, ${vec.hmax("cv")});`,
      `${indent}s = s * exp(m - mn) + ${pairwise(
        a.map((v) => `exp(${v} - mn)`),
        (p, q) => `(${p} + ${q})`,
      )};`,
      `${indent}m = mn;`,
    ];
  };
  const rest = w - full * chunk;
  const body = [
    ...guardedMain(wg, dispatch, "row", rows),
    `  let base = row * ${w}u;`,
    // The lowest finite f32, not -inf: a chunk of -inf then rescales by exp(-inf), never exp(NaN).
    `  var m = ${literal(-F32_MAX, "f32")};`,
    `  var s = ${vec.type}(0.0f);`,
    `  for (var i = 0u; i < ${loopBound(full)}; i++) {`,
    ...step("    ", `base + i * ${chunk}u`, chunk),
    "  }",
    ...(rest > 0 ? ["  {", ...step("    ", `base + ${full * chunk}u`, rest), "  }"] : []),
    `  let inv = 1.0f / ${vec.hsum("s")};`,
    `  for (var j = 0u; j < ${loopBound(w)}; j++) {`,
    `    y[base + j] = exp(${pro.read("base + j")} - m) * inv;`,
    "  }",
    "}",
  ].join("\n");
  const bindings = [...pro.bindings, { name: "y", access: "read_write" as const }];
  return {
    name: `softmax_rows[${rows}x${length}${pro.tag}]`,
    code: `${declareBindings(bindings, [...(spec.prologue ? pro.types : [vec.type]), vec.type])}\n\n${pro.fn}${body}\n`,
    bindings,
    workgroupSize: [wg, 1, 1],
    dispatch,
  };
}
