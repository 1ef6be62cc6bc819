// What every kernel template returns: WGSL source plus how to bind and dispatch it. Templates are
// pure functions of shapes and attributes (constants baked in); they never import `webgpu`.

import { createHash } from "node:crypto";
import type { DType } from "../../compiler/graph/ops.ts";

/** One storage binding, in @binding order (group 0). `role` says which operand or result it carries. */
export interface KernelBinding {
  readonly name: string;
  readonly access: "read" | "read_write";
}

export interface Kernel {
  /** Short label for plans, profiles and error messages, e.g. "matmul_reg[64x64x64]". */
  readonly name: string;
  readonly code: string;
  readonly bindings: readonly KernelBinding[];
  readonly workgroupSize: readonly [number, number, number];
  /** Workgroup counts; each within maxComputeWorkgroupsPerDimension. */
  readonly dispatch: readonly [number, number, number];
}

/** Device facts that templates may bake in. */
export interface KernelTarget {
  readonly maxWorkgroupsPerDimension: number;
  /** The device runs WGSL subgroup operations, on subgroups of at least 8 invocations. */
  readonly subgroups?: boolean;
  /** The device offers `shader-f16`: values of dtype f16 are stored as f16 (else lowering widens them to f32). */
  readonly shaderF16?: boolean;
}

export const DEFAULT_TARGET: KernelTarget = { maxWorkgroupsPerDimension: 65535 };

/**
 * A dtype's WGSL element type in storage: f16 as f16 (lowering widens f16 to f32 on a device without
 * shader-f16, so kernels only meet it where it exists), bool as i32 0/1.
 */
export function storageType(dtype: DType): "f32" | "f16" | "i32" {
  return dtype === "f32" ? "f32" : dtype === "f16" ? "f16" : "i32";
}

/** The WGSL type a value has inside an expression (elementwise programs compute f16 values at f16). */
export function exprType(dtype: DType): "f32" | "f16" | "i32" | "bool" {
  return dtype === "bool" ? "bool" : storageType(dtype);
}

/**
 * `code` as a module: with the `enable f16;` directive first where it uses f16 (bindings, values or
 * conversions). Lowering applies it to every kernel, so templates need not know where f16 reaches them.
 */
export function withHalfDirective(code: string): string {
  return /\bf16\b/.test(code) && !code.includes("enable f16;") ? `enable f16;\n\n${code}` : code;
}

/**
 * A WGSL literal of `type` for a JS number. Values a WGSL constant cannot hold (NaN, infinities,
 * subnormals) go through `f32_bits`, a function (so never constant-evaluated) that F32_BITS defines.
 */
export function literal(v: number, type: "f32" | "f16" | "i32" | "bool" | "u32"): string {
  if (type === "bool") return v !== 0 ? "true" : "false";
  // Through f32: a finite value past f16's range becomes ±inf (f16() of a constant that large does not compile).
  if (type === "f16")
    return `f16(${literal(Math.abs(v) >= 65520 && Number.isFinite(v) ? v * Infinity : v, "f32")})`;
  if (type === "i32") {
    const i = Math.trunc(v) | 0;
    // -2147483648i does not parse: it is the negation of an out-of-range literal.
    return i === -2147483648 ? "(-2147483647i - 1i)" : `${i}i`;
  }
  if (type === "u32") return `${v >>> 0}u`;
  const f = Math.fround(v);
  if (!Number.isFinite(f) || (f !== 0 && Math.abs(f) < 1.1754943508222875e-38)) {
    return `f32_bits(${new Uint32Array(new Float32Array([f]).buffer)[0]}u)`;
  }
  if (Object.is(f, -0)) return "-0.0f";
  const s = String(f);
  return /[.e]/.test(s) ? `${s}f` : `${s}.0f`;
}

export const F32_BITS = "fn f32_bits(b: u32) -> f32 {\n  return bitcast<f32>(b);\n}";

/** Helper functions (keyed by a marker substring such as "erf_f32(") a body uses, each once, in a stable order (the preamble only carries what is used). */
export function helpers(body: string, table: Readonly<Record<string, string>>): string {
  return Object.entries(table)
    .filter(([marker]) => body.includes(marker))
    .map(([, code]) => code)
    .join("\n\n");
}

/** Workgroup counts for `groups` workgroups laid out in x then y (WebGPU caps each dimension). */
export function grid(groups: number, target: KernelTarget = DEFAULT_TARGET): [number, number, number] {
  const g = Math.max(1, groups);
  const x = Math.min(g, target.maxWorkgroupsPerDimension);
  return [x, Math.ceil(g / x), 1];
}

/**
 * The storage declarations for `bindings`, typed per binding. Every binding is declared read_write:
 * the executor binds ranges of one arena buffer, and WebGPU forbids one buffer being both read-only
 * and writable storage in a dispatch, even in disjoint ranges. `access` still says which are written.
 */
export function declareBindings(bindings: readonly KernelBinding[], types: readonly string[]): string {
  return bindings
    .map((b, i) => `@group(0) @binding(${i}) var<storage, read_write> ${b.name}: array<${types[i]}>;`)
    .join("\n");
}

/** The flat invocation index of a 1-D launch spread over a 2-D grid of `wg`-sized workgroups. */
export function flatIndex(wg: number, dispatch: readonly [number, number, number]): string {
  return dispatch[1] > 1 ? `(wid.y * ${dispatch[0]}u + wid.x) * ${wg}u + lid.x` : `wid.x * ${wg}u + lid.x`;
}

/** The workgroup's own index in a launch spread over a 2-D grid (one workgroup per item). */
export function groupIndex(dispatch: readonly [number, number, number]): string {
  return dispatch[1] > 1 ? `wid.y * ${dispatch[0]}u + wid.x` : "wid.x";
}

export const BUILTINS = "@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>";
/** The launched grid, for opaqueCount and loopBound (guardedMain and boundedMain declare it). */
export const NUM_WORKGROUPS = "@builtin(num_workgroups) nwg: vec3<u32>";

/**
 * The opening lines of a 1-D kernel's entry point, one item per invocation: `let <index>` is the
 * invocation's flat index, and invocations past the last of `n` items return at once. The caller
 * appends the body and the closing brace.
 */
export function guardedMain(
  wg: number,
  dispatch: readonly [number, number, number],
  index: string,
  n: number,
): string[] {
  return [
    `@compute @workgroup_size(${wg})`,
    `fn main(${BUILTINS}, ${NUM_WORKGROUPS}) {`,
    `  let ${index} = ${flatIndex(wg, dispatch)};`,
    `  if (${index} >= ${n}u) {`,
    "    return;",
    "  }",
  ];
}

/**
 * The opening lines of a 1-D kernel's entry point, one item per invocation, for any number of items:
 * `let <index>` is the flat index over the launched grid (its width read from num_workgroups), and
 * invocations at or past `arrayLength(&<bound>)` return at once. Neither the count nor the grid is
 * baked in, so kernels that differ only in size share one shader. Bindings hold a value's storage,
 * rounded up to 16 bytes, so up to three invocations past the last item run: a kernel guarded so
 * writes only at `<index>` of bindings no shorter than `<bound>` (there, the values' own padding).
 */
export function boundedMain(wg: number, index: string, bound: string): string[] {
  return [
    `@compute @workgroup_size(${wg})`,
    `fn main(${BUILTINS}, ${NUM_WORKGROUPS}) {`,
    `  let ${index} = (wid.y * nwg.x + wid.x) * ${wg}u + lid.x;`,
    `  if (${index} >= arrayLength(&${bound})) {`,
    "    return;",
    "  }",
  ];
}

/**
 * A loop bound of `n` iterations that the driver's compiler cannot fold to a constant, inside an entry point
 * that boundedMain opened (`nwg.z` is 1: grid() never launches along z). Lavapipe fully unrolls short
 * constant-count loops, and unrolled loads of eight scalarised lanes each make a shader 10-30x slower to
 * compile (a 30-step sum with a folded producer: 2.7 s -> 0.1 s on a loaded 2-core machine), while loops long
 * enough to matter at run time are not unrolled anyway.
 */
export function opaqueCount(n: number): string {
  return `${n}u * nwg.z`;
}

/**
 * The bound of a loop of `n` iterations over a row or a head dimension: opaque from 8 iterations on, where
 * lavapipe's full unrolling costs seconds of compile per loop and buys nothing at run time (layernorm over
 * 64: compile 4.5 s -> 0.4 s, run 0.40 -> 0.26 ms; attention over 17 tokens: 45 s -> 11 s, 8.8 -> 6.8 ms);
 * shorter loops stay constant so the driver unrolls them.
 */
export function loopBound(n: number): string {
  return n >= 8 ? opaqueCount(n) : `${n}u`;
}

/** F32_BITS and a blank line when `code` calls f32_bits and `defined` (code placed before it) does not define it. */
export function f32BitsPrefix(code: string, defined = ""): string {
  return code.includes("f32_bits(") && !defined.includes("fn f32_bits") ? `${F32_BITS}\n\n` : "";
}

/** Row-major strides. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export function count(shape: readonly number[]): number {
  return shape.reduce((a, d) => a * d, 1);
}

/** One axis of an index walk: its size and the element stride it moves by. */
export interface Dim {
  readonly size: number;
  readonly stride: number;
}

/**
 * Drops axes of size 1 and merges neighbouring axes that move through memory together (the outer's
 * stride is the inner's stride times its size; two broadcast axes merge too), so that index math has
 * as few divisions as the layout needs and equal layouts of different shapes give equal WGSL.
 */
export function mergeDims(dims: readonly Dim[]): Dim[] {
  const out: Dim[] = [];
  for (const d of dims) {
    if (d.size === 1) continue;
    const last = out[out.length - 1];
    if (last && last.stride === d.stride * d.size)
      out[out.length - 1] = { size: last.size * d.size, stride: d.stride };
    else out.push(d);
  }
  return out;
}

/**
 * WGSL offset of position `flat` (row-major over `dims`' sizes) through `dims`' strides. The outermost
 * axis takes no modulo, so the expression does not depend on its size (a batch of any size shares it).
 */
export function dimsOffset(dims: readonly Dim[], flat: string): string {
  const terms: string[] = [];
  let inner = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    const d = dims[i]!;
    if (d.stride !== 0) {
      let coord = inner === 1 ? flat : `(${flat} / ${inner}u)`;
      if (i > 0) coord = `(${coord} % ${d.size}u)`;
      terms.push(d.stride === 1 ? coord : `${coord} * ${d.stride}u`);
    }
    inner *= d.size;
  }
  return terms.length === 0 ? "0u" : terms.reverse().join(" + ");
}

/**
 * WGSL expression for the offset into a tensor read through `strides` (one per output axis, 0 where
 * broadcast) at flat output position `flat` of `shape`. A contiguous same-shape operand is just `flat`.
 */
export function offsetExpr(shape: readonly number[], strides: readonly number[], flat: string): string {
  return dimsOffset(mergeDims(shape.map((size, i) => ({ size, stride: strides[i]! }))), flat);
}

/** Strides that read a tensor of shape `from` as if broadcast to `to` (0 along stretched axes). */
export function broadcastStrides(from: readonly number[], to: readonly number[]): number[] {
  const own = stridesOf(from);
  const lead = to.length - from.length;
  return to.map((_, i) => (i < lead || from[i - lead] === 1 ? 0 : own[i - lead]!));
}

/** SHA-256 of a shader's source, hex: the pipeline cache key. */
export function hashSource(code: string): string {
  return createHash("sha256").update(code).digest("hex");
}
