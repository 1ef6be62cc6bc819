// Reductions (sum, max, argmax) over any set of axes. One output per invocation looping over the
// reduced axes (merged where contiguous; vec4 or vec2 loads along a contiguous trailing run; a loop
// bound the driver does not unroll, kernel.ts opaqueCount), or, when few outputs each reduce many
// elements, one workgroup per output with a shared-memory tree.

import type { DType } from "../../compiler/graph/ops.ts";
import type { ElementwiseProgram } from "./elementwise.ts";
import {
  BUILTINS,
  boundedMain,
  count,
  DEFAULT_TARGET,
  type Dim,
  declareBindings,
  dimsOffset,
  f32BitsPrefix,
  grid,
  groupIndex,
  type Kernel,
  type KernelTarget,
  literal,
  mergeDims,
  opaqueCount,
  storageType,
  stridesOf,
} from "./kernel.ts";
import { prologueOf, rowVector } from "./softmax.ts";

export type ReduceKind = "sum" | "max" | "argmax";

export interface ReduceSpec {
  readonly kind: ReduceKind;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Ascending, non-negative. */
  readonly axes: readonly number[];
  /** The elementwise producer of x folded in (a program of x's shape, f32); its operands replace x. */
  readonly prologue?: ElementwiseProgram;
}

function init(kind: ReduceKind, t: "f32" | "i32"): string {
  if (kind === "sum") return t === "f32" ? "0.0f" : "0i";
  return t === "f32" ? literal(-Infinity, "f32") : literal(-2147483648, "i32");
}

export function reduceKernel(spec: ReduceSpec, target: KernelTarget = DEFAULT_TARGET): Kernel {
  // Lowering widens f16 operands of reductions to f32 (legalizeHalf): accumulating at f16 loses too much.
  if (spec.dtype === "f16") throw new Error("internal error: a reduction over f16 reached the kernel");
  const t = storageType(spec.dtype) as "f32" | "i32";
  const xs = stridesOf(spec.shape);
  const dims = spec.shape.map((size, i) => ({ size, stride: xs[i]! }));
  const kept = mergeDims(dims.filter((_, i) => !spec.axes.includes(i)));
  const reduced = mergeDims(dims.filter((_, i) => spec.axes.includes(i)));
  const outputs = count(kept.map((d) => d.size));
  const total = count(reduced.map((d) => d.size));
  const outType = spec.kind === "argmax" ? "i32" : t;
  if (outputs <= 64 && total >= 8192)
    return workgroupReduce(spec, kept, reduced, outputs, total, t, outType, target);

  const wg = outputs >= 4096 ? 64 : 16;
  const dispatch = grid(Math.ceil(outputs / wg), target);
  // A contiguous trailing run of reduced elements (rows) reads as vec4 or vec2 when its length allows;
  // with a folded producer, when x's last axis does (the producer is evaluated along one row).
  const rows = reduced.length === 1 && reduced[0]!.stride === 1;
  const row =
    rows && t === "f32" && spec.kind !== "argmax"
      ? rowVector(spec.prologue ? spec.shape[spec.shape.length - 1]! : total)
      : undefined;
  const vec = row && row.width > 1 ? row : undefined;
  const pro = prologueOf(spec.prologue, vec?.width ?? 1);
  const bindings = [...pro.bindings, { name: "out", access: "read_write" as const }];
  const lines: string[] = [];
  lines.push(`  let base = ${dimsOffset(kept, "o")};`);
  if (vec) {
    lines.push(`  var acc = ${vec.type}(${init(spec.kind, "f32")});`);
    lines.push(`  let first = base / ${vec.width}u;`);
    lines.push(`  for (var r = 0u; r < ${opaqueCount(total / vec.width)}; r++) {`);
    const v = pro.read("first + r");
    lines.push(spec.kind === "sum" ? `    acc += ${v};` : `    acc = max(acc, ${v});`);
    lines.push("  }");
    lines.push(`  out[o] = ${spec.kind === "sum" ? vec.hsum("acc") : vec.hmax("acc")};`);
  } else {
    lines.push(`  var acc: ${t} = ${init(spec.kind, t)};`);
    if (spec.kind === "argmax") lines.push("  var arg = 0i;");
    lines.push(`  for (var r = 0u; r < ${opaqueCount(total)}; r++) {`);
    lines.push(`    let v = ${pro.read(`base + ${dimsOffset(reduced, "r")}`)};`);
    if (spec.kind === "sum") lines.push("    acc += v;");
    else if (spec.kind === "max") lines.push("    acc = max(acc, v);");
    else {
      lines.push("    if (v > acc || (v != v && acc == acc)) {");
      lines.push("      acc = v;");
      lines.push("      arg = i32(r);");
      lines.push("    }");
    }
    lines.push("  }");
    lines.push(`  out[o] = ${spec.kind === "argmax" ? "arg" : "acc"};`);
  }
  const body = [...boundedMain(wg, "o", "out"), ...lines, "}"].join("\n");
  const types = [...(spec.prologue ? pro.types : [vec ? vec.type : t]), outType];
  const pre = f32BitsPrefix(body, pro.fn);
  return {
    name: `${spec.kind}[${spec.shape.join("x")};axes=${spec.axes.join(",")}${pro.tag}]`,
    code: `${declareBindings(bindings, types)}\n\n${pre}${pro.fn}${body}\n`,
    bindings,
    workgroupSize: [wg, 1, 1],
    dispatch,
  };
}

function workgroupReduce(
  spec: ReduceSpec,
  kept: readonly Dim[],
  reduced: readonly Dim[],
  outputs: number,
  total: number,
  t: "f32" | "i32",
  outType: string,
  target: KernelTarget,
): Kernel {
  const wg = 64;
  const dispatch = grid(outputs, target);
  const pro = prologueOf(spec.prologue);
  const bindings = [...pro.bindings, { name: "out", access: "read_write" as const }];
  const arg = spec.kind === "argmax";
  const better = "(v > acc || (v != v && acc == acc))";
  const combine =
    spec.kind === "sum"
      ? "      acc_s[t] = acc_s[t] + acc_s[t + s];"
      : spec.kind === "max"
        ? "      acc_s[t] = max(acc_s[t], acc_s[t + s]);"
        : [
            "      let v = acc_s[t + s];",
            "      let acc = acc_s[t];",
            "      if (" + better + " || (v == acc && arg_s[t + s] < arg_s[t])) {",
            "        acc_s[t] = v;",
            "        arg_s[t] = arg_s[t + s];",
            "      }",
          ].join("\n");
  const body = [
    `var<workgroup> acc_s: array<${t}, ${wg}>;`,
    ...(arg ? [`var<workgroup> arg_s: array<i32, ${wg}>;`] : []),
    "",
    `@compute @workgroup_size(${wg})`,
    `fn main(${BUILTINS}) {`,
    `  let o = ${groupIndex(dispatch)};`,
    "  let t = lid.x;",
    `  let base = ${dimsOffset(kept, "min(o, " + (outputs - 1) + "u)")};`,
    `  var acc: ${t} = ${init(spec.kind, t)};`,
    ...(arg ? ["  var arg = 0i;"] : []),
    `  for (var r = t; r < ${total}u; r += ${wg}u) {`,
    `    let v = ${pro.read(`base + ${dimsOffset(reduced, "r")}`)};`,
    spec.kind === "sum"
      ? "    acc += v;"
      : spec.kind === "max"
        ? "    acc = max(acc, v);"
        : `    if ${better} {\n      acc = v;\n      arg = i32(r);\n    }`,
    "  }",
    "  acc_s[t] = acc;",
    ...(arg ? ["  arg_s[t] = arg;"] : []),
    "  workgroupBarrier();",
    `  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {`,
    "    if (t < s) {",
    combine,
    "    }",
    "    workgroupBarrier();",
    "  }",
    `  if (t == 0u && o < ${outputs}u) {`,
    `    out[o] = ${arg ? "arg_s[0]" : "acc_s[0]"};`,
    "  }",
    "}",
  ].join("\n");
  const pre = f32BitsPrefix(body, pro.fn);
  return {
    name: `${spec.kind}_wg[${spec.shape.join("x")};axes=${spec.axes.join(",")}${pro.tag}]`,
    code: `${declareBindings(bindings, [...(spec.prologue ? pro.types : [t]), outType])}\n\n${pre}${pro.fn}${body}\n`,
    bindings,
    workgroupSize: [wg, 1, 1],
    dispatch,
  };
}
