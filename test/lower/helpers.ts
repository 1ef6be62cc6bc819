// Shared helpers of the lowering tests: the IR of every fn and loss of a stdlib module, lowering a
// definition on named tensors and evaluating it with the reference interpreter.

import { checkDefinitions } from "../../compiler/check-definitions.ts";
import type { ResolvedPipeline } from "../../compiler/check-pipeline.ts";
import type { Diagnostic } from "../../compiler/diagnostics.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Graph, Value, ValueId } from "../../compiler/graph/graph.ts";
import type { DType } from "../../compiler/graph/ops.ts";
import { verifyGraph } from "../../compiler/graph/verify.ts";
import { buildIr, type PipelineIr } from "../../compiler/ir.ts";
import type { TypeTable } from "../../compiler/ir-expr.ts";
import { type Argument, lowerFunction } from "../../compiler/lower/function.ts";
import { loadProgram } from "../../compiler/modules.ts";
import { PRELUDE_MODULES, Scopes } from "../../compiler/scope.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";

/** The IR definitions of every `fn` and `loss` of the module at `path` (and what they call). */
export function moduleIr(path: string): PipelineIr {
  const program = loadProgram(path, undefined, PRELUDE_MODULES);
  const diagnostics: Diagnostic[] = [];
  const scopes = new Scopes(program, diagnostics);
  const types: TypeTable = new WeakMap();
  checkDefinitions(program.entry, scopes, diagnostics, types);
  const errors = diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new Error(`${path}: ${errors.map((d) => d.message).join("; ")}`);
  const own = scopes.scopeOf(program.entry).own;
  const used = new Map([...own].filter(([, d]) => d.kind === "function"));
  const pipeline = {
    name: "lowering_test",
    ancestry: [],
    root: { name: "pipeline", settings: new Map(), adapters: [], blocks: [] },
    usedDefinitions: used,
  } as unknown as ResolvedPipeline;
  return buildIr(pipeline, scopes, types);
}

export type Arg = Tensor | (Tensor & { dtype: DType }) | number | boolean | { symbol: string };

function isTensor(a: Arg): a is Tensor {
  return typeof a === "object" && "data" in a;
}

/** Lowers `name` on `args` (tensors become inputs of their dtype, default f32) and evaluates it. */
export function run(
  ir: PipelineIr,
  name: string,
  args: Record<string, Arg>,
  options: { dims?: Map<string, number>; seed?: number } = {},
): { value: Tensor; graph: Graph; result: Value; inputs: Map<string, Value>; feeds: Map<ValueId, Tensor> } {
  const b = new GraphBuilder();
  const inputs = new Map<string, Value>();
  const feeds = new Map<ValueId, Tensor>();
  const lowered = new Map<string, Argument>();
  for (const [k, a] of Object.entries(args)) {
    if (isTensor(a)) {
      const v = b.input(k, a.shape, (a as { dtype?: DType }).dtype ?? "f32");
      inputs.set(k, v);
      feeds.set(v.id, a);
      lowered.set(k, v);
    } else lowered.set(k, a);
  }
  const result = lowerFunction(ir, name, lowered, b, options);
  b.output("result", result);
  const graph = b.build();
  verifyGraph(graph);
  const value = evaluate(graph, feeds).get(result.id)!;
  return { value, graph, result, inputs, feeds };
}
