// Movement as index kernels: each output element read from the position the op names. Views
// (permute, broadcast, slice) share one strided-copy template; pad, concat (whole, or piece by
// piece when its operands outnumber the bindings), gather,
// take_along_axis and scatter_add have their own. Reshape costs nothing (the executor aliases it).
// scatter_add has two forms: one invocation per output element scanning every update along the axis (few
// output rows), or — for a large table and fewer updates, e.g. the gradient of a token-embedding gather —
// one invocation per update that owns the first occurrence of its index and adds in that index's updates.

import type { DType } from "../../compiler/graph/ops.ts";
import {
  boundedMain,
  count,
  DEFAULT_TARGET,
  declareBindings,
  f32BitsPrefix,
  grid,
  guardedMain,
  type Kernel,
  type KernelTarget,
  literal,
  offsetExpr,
  storageType,
  stridesOf,
} from "./kernel.ts";

const WG = 64;

/**
 * A 1-D launch of `n` invocations running `lines`. By default every invocation below the result's
 * length runs (boundedMain: one shader for every size); `exact` bakes `n` in, for kernels whose extra
 * invocations would write outside the result's own elements.
 */
function launch(
  name: string,
  n: number,
  bindings: readonly { name: string; access: "read" | "read_write" }[],
  types: readonly string[],
  lines: readonly string[],
  target: KernelTarget,
  exact = false,
): Kernel {
  const dispatch = grid(Math.ceil(n / WG), target);
  const main = exact ? guardedMain(WG, dispatch, "i", n) : boundedMain(WG, "i", "out");
  const body = [...main, ...lines, "}"].join("\n");
  const pre = f32BitsPrefix(body);
  return {
    name,
    code: `${declareBindings(bindings, types)}\n\n${pre}${body}\n`,
    bindings,
    workgroupSize: [WG, 1, 1],
    dispatch,
  };
}

const IO = [
  { name: "x", access: "read" as const },
  { name: "out", access: "read_write" as const },
];

/** out[i] = x[base + sum_a coord_a(i) * strides[a]]: permute, broadcast and slice. */
export function stridedCopyKernel(
  spec: { shape: readonly number[]; strides: readonly number[]; base: number; dtype: DType },
  target: KernelTarget = DEFAULT_TARGET,
): Kernel {
  const t = storageType(spec.dtype);
  const off = offsetExpr(spec.shape, spec.strides, "i");
  const at = spec.base === 0 ? off : `${spec.base}u + ${off}`;
  return launch(
    `copy[${spec.shape.join("x")}]`,
    count(spec.shape),
    IO,
    [t, t],
    [`  out[i] = x[${at}];`],
    target,
  );
}

/** Coordinate `a` of flat position `flat` in `shape`, as a WGSL u32 expression. */
function coord(shape: readonly number[], a: number, flat: string): string {
  const st = stridesOf(shape)[a]!;
  const c = st === 1 ? flat : `(${flat} / ${st}u)`;
  return a === 0 ? c : `(${c} % ${shape[a]!}u)`;
}

export function padKernel(
  spec: {
    inShape: readonly number[];
    shape: readonly number[];
    before: readonly number[];
    interior: readonly number[];
    value: number;
    dtype: DType;
  },
  target: KernelTarget = DEFAULT_TARGET,
): Kernel {
  const t = storageType(spec.dtype);
  const xs = stridesOf(spec.inShape);
  const lines = [`  var ok = true;`, "  var at = 0u;"];
  spec.shape.forEach((d, a) => {
    if (d === 1 && spec.inShape[a] === 1) return;
    const step = spec.interior[a]! + 1;
    lines.push(`  let p${a} = i32(${coord(spec.shape, a, "i")}) - ${spec.before[a]!}i;`);
    const conds = [`p${a} >= 0i`, `p${a} < ${(spec.inShape[a]! - 1) * step + 1}i`];
    if (step > 1) conds.push(`p${a} % ${step}i == 0i`);
    lines.push(`  ok = ok && ${conds.join(" && ")};`);
    lines.push(`  at += u32(max(p${a}, 0i)) / ${step}u * ${xs[a]!}u;`);
  });
  const fill = literal(spec.value, t);
  lines.push(`  out[i] = select(${fill}, x[min(at, ${count(spec.inShape) - 1}u)], ok);`);
  return launch(`pad[${spec.shape.join("x")}]`, count(spec.shape), IO, [t, t], lines, target);
}

/**
 * A whole concat in one launch: each output element reads the operand its position along `axis` falls
 * in. `operands` says which binding each piece reads (one binding per distinct value: a value bound twice
 * would alias writable storage). The outer (batch) size is not baked in, so any batch shares one shader.
 */
export function concatKernel(
  spec: {
    pieceShapes: readonly (readonly number[])[];
    operands: readonly number[];
    shape: readonly number[];
    axis: number;
    dtype: DType;
  },
  target: KernelTarget = DEFAULT_TARGET,
): Kernel {
  const t = storageType(spec.dtype);
  const inner = count(spec.shape.slice(spec.axis + 1));
  const along = spec.shape[spec.axis]!;
  const lines = [
    `  let r = ${inner === 1 ? "0u" : `i % ${inner}u`};`,
    `  let c = ${inner === 1 ? "i" : `(i / ${inner}u)`}${spec.axis > 0 ? ` % ${along}u` : ""};`,
    `  let o = ${spec.axis > 0 ? `i / ${along * inner}u` : "0u"};`,
  ];
  let at = 0;
  spec.pieceShapes.forEach((piece, k) => {
    const width = piece[spec.axis]!;
    const read = `x${spec.operands[k]!}[(o * ${width}u + c - ${at}u) * ${inner}u + r]`;
    const last = k === spec.pieceShapes.length - 1;
    const test =
      k === 0 ? `  if (c < ${at + width}u) {` : last ? "  } else {" : `  } else if (c < ${at + width}u) {`;
    lines.push(test, `    out[i] = ${read};`);
    at += width;
  });
  lines.push("  }");
  const distinct = Math.max(...spec.operands) + 1;
  const bindings = [
    ...Array.from({ length: distinct }, (_, k) => ({ name: `x${k}`, access: "read" as const })),
    { name: "out", access: "read_write" as const },
  ];
  return launch(
    `concat[${spec.shape.join("x")}@${spec.axis}]`,
    count(spec.shape),
    bindings,
    bindings.map(() => t),
    lines,
    target,
  );
}

/** Writes one concat operand into its slot of the result. */
export function concatPieceKernel(
  spec: { pieceShape: readonly number[]; shape: readonly number[]; axis: number; at: number; dtype: DType },
  target: KernelTarget = DEFAULT_TARGET,
): Kernel {
  const t = storageType(spec.dtype);
  const os = stridesOf(spec.shape);
  const off = offsetExpr(spec.pieceShape, os, "i");
  const base = spec.at * os[spec.axis]!;
  const at = base === 0 ? off : `${base}u + ${off}`;
  return launch(
    `concat_piece[${spec.pieceShape.join("x")}@${spec.at}]`,
    count(spec.pieceShape),
    IO,
    [t, t],
    [`  out[${at}] = x[i];`],
    target,
    true,
  );
}

const WITH_INDEX = [
  { name: "x", access: "read" as const },
  { name: "idx", access: "read" as const },
  { name: "out", access: "read_write" as const },
];

/** out[p, j, q] = x[p, idx[j], q] with x seen as [pre, N, post]; indices clamped into range. */
export function gatherKernel(
  spec: { xShape: readonly number[]; idxCount: number; axis: number; dtype: DType },
  target: KernelTarget = DEFAULT_TARGET,
): Kernel {
  const t = storageType(spec.dtype);
  const pre = count(spec.xShape.slice(0, spec.axis));
  const n = spec.xShape[spec.axis]!;
  const post = count(spec.xShape.slice(spec.axis + 1));
  const k = spec.idxCount;
  const lines = [
    `  let q = i % ${post}u;`,
    `  let j = (i / ${post}u) % ${k}u;`,
    `  let p = i / ${post * k}u;`,
    `  let row = u32(clamp(idx[j], 0i, ${n - 1}i));`,
    `  out[i] = x[(p * ${n}u + row) * ${post}u + q];`,
  ];
  return launch(
    `gather[${spec.xShape.join("x")};${k}@${spec.axis}]`,
    pre * k * post,
    WITH_INDEX,
    [t, "i32", t],
    lines,
    target,
  );
}

/** out[c] = x[c with c[axis] = idx[c]]; idx has x's shape off `axis`. */
export function takeAlongAxisKernel(
  spec: { xShape: readonly number[]; idxShape: readonly number[]; axis: number; dtype: DType },
  target: KernelTarget = DEFAULT_TARGET,
): Kernel {
  const t = storageType(spec.dtype);
  const xs = stridesOf(spec.xShape);
  const strides = xs.map((s, a) => (a === spec.axis ? 0 : s));
  const lines = [
    `  let j = u32(clamp(idx[i], 0i, ${spec.xShape[spec.axis]! - 1}i));`,
    `  out[i] = x[${offsetExpr(spec.idxShape, strides, "i")} + j * ${xs[spec.axis]!}u];`,
  ];
  return launch(
    `take_along_axis[${spec.idxShape.join("x")}@${spec.axis}]`,
    count(spec.idxShape),
    WITH_INDEX,
    [t, "i32", t],
    lines,
    target,
  );
}

/**
 * out[c] = base[c] + sum over j of updates[c with c[axis] = j] where idx there equals c[axis]:
 * each output element gathers its own contributions, so no atomics and a fixed summation order.
 */
export function scatterAddKernel(
  spec: { shape: readonly number[]; idxShape: readonly number[]; axis: number; dtype: DType },
  target: KernelTarget = DEFAULT_TARGET,
): Kernel {
  const t = storageType(spec.dtype);
  const is = stridesOf(spec.idxShape);
  const strides = is.map((s, a) => (a === spec.axis ? 0 : s));
  const len = spec.idxShape[spec.axis]!;
  const bindings = [
    { name: "base", access: "read" as const },
    { name: "idx", access: "read" as const },
    { name: "upd", access: "read" as const },
    { name: "out", access: "read_write" as const },
  ];
  const lines = [
    `  let c = i32(${coord(spec.shape, spec.axis, "i")});`,
    `  let u0 = ${offsetExpr(spec.shape, strides, "i")};`,
    "  var acc = base[i];",
    `  for (var j = 0u; j < ${len}u; j++) {`,
    `    let u = u0 + j * ${is[spec.axis]!}u;`,
    "    if (idx[u] == c) {",
    "      acc += upd[u];",
    "    }",
    "  }",
    "  out[i] = acc;",
  ];
  return launch(
    `scatter_add[${spec.shape.join("x")}@${spec.axis}]`,
    count(spec.shape),
    bindings,
    [t, "i32", t, t],
    lines,
    target,
  );
}

/**
 * The accumulation of scatter_add for a large table: `out` already holds `base` (the executor copies it
 * first); the invocation at update u = (…, j, …) returns unless j is the first position along the axis whose
 * index equals idx[u] (same other coordinates); the first one adds every update of that index, in ascending
 * j, to out at that index. One writer per output element, so no atomics and a fixed summation order. Work:
 * updates × (distance to the first occurrence + occurrences' span), against output elements × positions.
 */
export function scatterAddSparseKernel(
  spec: { shape: readonly number[]; idxShape: readonly number[]; axis: number; dtype: DType },
  target: KernelTarget = DEFAULT_TARGET,
): Kernel {
  const t = storageType(spec.dtype);
  const is = stridesOf(spec.idxShape);
  const os = stridesOf(spec.shape);
  const stride = is[spec.axis]!;
  const len = spec.idxShape[spec.axis]!;
  const rows = spec.shape[spec.axis]!;
  // The output offset of u with the axis coordinate left out (added from the index).
  const outStrides = os.map((s, a) => (a === spec.axis ? 0 : s));
  const bindings = [
    { name: "idx", access: "read" as const },
    { name: "upd", access: "read" as const },
    { name: "out", access: "read_write" as const },
  ];
  const lines = [
    `  let j = ${coord(spec.idxShape, spec.axis, "i")};`,
    "  let c = idx[i];",
    `  if (c < 0 || c >= ${rows}) { return; }`,
    `  let u0 = i - j * ${stride}u;`,
    "  for (var p = 0u; p < j; p++) {",
    `    if (idx[u0 + p * ${stride}u] == c) { return; }`,
    "  }",
    `  var acc = upd[i];`,
    `  for (var q = j + 1u; q < ${len}u; q++) {`,
    `    let u = u0 + q * ${stride}u;`,
    "    if (idx[u] == c) {",
    "      acc += upd[u];",
    "    }",
    "  }",
    `  let o = ${offsetExpr(spec.idxShape, outStrides, "i")} + u32(c) * ${os[spec.axis]!}u;`,
    "  out[o] += acc;",
  ];
  return launch(
    `scatter_add_sparse[${spec.shape.join("x")}@${spec.axis}]`,
    count(spec.idxShape),
    bindings,
    ["i32", t, t],
    lines,
    target,
    true,
  );
}
