// `vlmp compile FILE --emit graph [--dims N=64,C=10] [--loss train]`: the selected block's objective
// lowered to a tensor graph (inputs shaped from --dims), then that graph with its gradients with respect
// to the logits inputs (`logits`, `paired_logits`, …).
// `vlmp compile FILE --emit graph --model [--dims B=2,C=10,P=1] [--loss train]`: the backbone's forward
// with the pipeline's adapters (the root block's, and those of the --loss block and its ancestors) as a
// graph whose outputs are the backbone's sites (image_features, text_features, logits, …).
// `--emit plan` / `--emit wgsl` instead print the kernel plan of that graph (the objective with its
// gradients, or the forward): kernels with their fused ops, dispatch sizes, arena offsets and peak
// bytes; or every generated shader.

import { gradients } from "../../compiler/graph/autodiff.ts";
import { formatGraph } from "../../compiler/graph/format.ts";
import type { Graph } from "../../compiler/graph/graph.ts";
import { eliminateCommonSubexpressions } from "../../compiler/graph/passes/cse.ts";
import { eliminateDeadCode } from "../../compiler/graph/passes/dce.ts";
import type { PipelineIr } from "../../compiler/ir.ts";
import { LoweringError } from "../../compiler/lower/errors.ts";
import { forwardDims, modelForwardGraph } from "../../compiler/lower/model.ts";
import {
  lowerObjective,
  type ObjectiveBlock,
  ObjectiveError,
  resolveSetting,
  selectObjective,
} from "../../compiler/lower/objective.ts";
import type { JsonValue } from "../../compiler/values.ts";
import { lowerGraph } from "../../runtime/executor/lower.ts";
import { formatPlan, formatWgsl } from "../../runtime/executor/plan-format.ts";
import { DEFAULT_TARGET } from "../../runtime/kernels/kernel.ts";
import { UsageError } from "../usage-error.ts";
import { compileSpec, type SpecOptions } from "./compile-spec.ts";

export interface EmitGraphOptions extends SpecOptions {
  dims?: string;
  loss?: string;
  /** Print the backbone's forward with the adapters instead of the objective. */
  model?: boolean;
  /** "plan" or "wgsl": print the graph's kernel plan or its shaders instead of the graph. */
  emit?: string;
}

/**
 * The kernel plan (or its WGSL) of `graph`, for all its outputs, as the register-matmul (CPU) target,
 * which stores f16 values as f16 (lavapipe offers shader-f16).
 */
function planText(graph: Graph, emit: string, header: readonly string[]): string {
  const plan = lowerGraph(
    graph,
    graph.outputs.map((o) => o.value),
    { target: { ...DEFAULT_TARGET, shaderF16: true } },
  );
  const body = emit === "wgsl" ? formatWgsl(graph, plan) : formatPlan(graph, plan);
  return [...header, body].join("\n");
}

/** `N=64,C=10` → sizes by symbol. */
export function parseDims(text: string | undefined): Map<string, number> {
  const dims = new Map<string, number>();
  if (!text) return dims;
  for (const part of text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(\d+)$/.exec(part);
    if (!m) throw new UsageError(`--dims: '${part}' is not SYMBOL=SIZE (e.g. --dims N=64,C=10)`);
    dims.set(m[1]!, Number(m[2]));
  }
  return dims;
}

export function runEmitGraph(file: string, overrideArgs: string[], options: EmitGraphOptions): number {
  const dims = parseDims(options.dims);
  const compiled = compileSpec(file, overrideArgs, options);
  if ("exitCode" in compiled) return compiled.exitCode;
  const ir = compiled.ir;

  try {
    const emit = options.emit === "plan" || options.emit === "wgsl" ? options.emit : undefined;
    if (options.model) return emitModelGraph(ir, dims, options.loss, emit);
    const block = selectObjective(ir, options.loss);
    const lowered = lowerObjective(ir, block, dims);
    const forward = eliminateDeadCode(eliminateCommonSubexpressions(lowered.graph));
    const out: string[] = [
      `# objective of '${block.path}': ${lowered.text}`,
      `# inputs: ${lowered.inputs.map((i) => `${i.name} ${i.value.dtype}[${i.value.shape.join(",")}]`).join(", ")}`,
      formatGraph(forward),
    ];
    const wrt = lowered.inputs.filter((i) => i.name === "logits" || i.name.endsWith("_logits"));
    if (emit) {
      let graph = forward;
      const header = [out[0]!, out[1]!];
      if (wrt.length > 0) {
        const loss = forward.outputs.find((o) => o.name === "loss")!.value;
        const ids = wrt.map((i) => i.value.id);
        graph = eliminateDeadCode(eliminateCommonSubexpressions(gradients(forward, loss, ids).graph));
        header.push(`# with gradients of loss with respect to ${wrt.map((i) => i.name).join(", ")}`);
      }
      process.stdout.write(planText(graph, emit, header));
      return 0;
    }
    if (wrt.length === 0) {
      out.push("# no logits input: no gradient graph\n");
    } else {
      const loss = forward.outputs.find((o) => o.name === "loss")!.value;
      const grads = gradients(
        forward,
        loss,
        wrt.map((i) => i.value.id),
      );
      out.push(`# gradients of loss with respect to ${wrt.map((i) => i.name).join(", ")}`);
      out.push(formatGraph(eliminateDeadCode(eliminateCommonSubexpressions(grads.graph))));
    }
    process.stdout.write(out.join("\n"));
    return 0;
  } catch (error) {
    if (error instanceof ObjectiveError) throw new UsageError(error.message);
    if (error instanceof LoweringError) {
      process.stderr.write(`error[${error.code}]: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

function callText(v: JsonValue | undefined): string {
  if (v === null || v === undefined) return "none";
  if (typeof v !== "object") return typeof v === "string" ? JSON.stringify(v) : String(v);
  if (Array.isArray(v)) return `[${v.map(callText).join(", ")}]`;
  if ("$symbol" in v) return String(v["$symbol"]);
  if ("$ref" in v) return String(v["$ref"]);
  if ("$call" in v) {
    const args = Object.entries((v["args"] ?? {}) as Record<string, JsonValue>);
    return `${String(v["$call"])}(${args.map(([k, a]) => `${k}: ${callText(a)}`).join(", ")})`;
  }
  return JSON.stringify(v);
}

/** The backbone's forward with the adapters in scope of `loss` (or the root's), printed as a graph. */
function emitModelGraph(
  ir: PipelineIr,
  given: Map<string, number>,
  loss: string | undefined,
  emit?: "plan" | "wgsl",
): number {
  const backbone = ir.root.settings["backbone"];
  if (backbone === undefined || backbone === null) {
    throw new UsageError(`pipeline '${ir.pipeline}' has no backbone`);
  }
  const adapters: JsonValue[] = [...ir.root.adapters];
  let scope: ObjectiveBlock = { path: "", block: ir.root, ancestors: [] };
  if (loss !== undefined) {
    scope = selectObjective(ir, loss);
    for (const b of [...scope.ancestors.slice(1), scope.block]) adapters.push(...b.adapters);
  }
  const settings = (path: string) => resolveSetting(scope, path);
  const needed = forwardDims(ir, backbone, settings);
  const dims = new Map(given);
  if (needed.includes("P") && !dims.has("P")) dims.set("P", 1);
  const missing = needed.filter((s) => !dims.has(s));
  if (missing.length > 0) {
    throw new UsageError(
      `the forward of ${callText(backbone)} needs sizes for ${missing.join(", ")}: give them as --dims ${needed.map((s) => `${s}=…`).join(",")}`,
    );
  }
  const fwd = modelForwardGraph(ir, backbone, { adapters, dims, settings });
  const graph = eliminateDeadCode(eliminateCommonSubexpressions(fwd.graph));
  const params = fwd.lowering.params;
  const trainable = params.filter((p) => p.trainable);
  const count = (ps: typeof params) => ps.reduce((n, p) => n + p.shape.reduce((a, d) => a * d, 1), 0);
  if (emit) {
    const header = [
      `# forward of ${callText(backbone)}`,
      `# adapters: ${adapters.map(callText).join(", ") || "none"}`,
      `# params: ${params.length} (${count(params)} values), trainable: ${trainable.length} (${count(trainable)} values)`,
    ];
    process.stdout.write(planText(graph, emit, header));
    return 0;
  }
  const out = [
    `# forward of ${callText(backbone)}`,
    `# adapters: ${adapters.map(callText).join(", ") || "none"}`,
    `# inputs: ${[...fwd.inputs].map(([n, v]) => `${n} ${v.dtype}[${v.shape.join(",")}]`).join(", ")}`,
    ...[...fwd.lowering.provided].map(([n, v]) => `# provided: ${n} ${v.dtype}[${v.shape.join(",")}]`),
    `# params: ${params.length} (${count(params)} values), trainable: ${trainable.length} (${count(trainable)} values)`,
    ...trainable.map(
      (p) =>
        `#   trainable ${p.key} [${p.shape.join(", ")}]${
          p.init
            ? ` = ${p.init.kind}(${Object.entries(p.init.args)
                .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
                .join(", ")})`
            : ""
        }`,
    ),
    formatGraph(graph),
  ];
  process.stdout.write(out.join("\n"));
  return 0;
}
