// `vlmp compile FILE --emit graph [--dims N=64,C=10] [--loss train]`: the selected block's objective
// lowered to a tensor graph (inputs shaped from --dims), then that graph with its gradients with respect
// to the logits inputs (`logits`, `paired_logits`, …).

import { gradients } from "../../compiler/graph/autodiff.ts";
import { formatGraph } from "../../compiler/graph/format.ts";
import { eliminateCommonSubexpressions } from "../../compiler/graph/passes/cse.ts";
import { eliminateDeadCode } from "../../compiler/graph/passes/dce.ts";
import { LoweringError } from "../../compiler/lower/errors.ts";
import { lowerObjective, ObjectiveError, selectObjective } from "../../compiler/lower/objective.ts";
import { UsageError } from "../usage-error.ts";
import { compileSpec, type SpecOptions } from "./compile-spec.ts";

export interface EmitGraphOptions extends SpecOptions {
  dims?: string;
  loss?: string;
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
    const block = selectObjective(ir, options.loss);
    const lowered = lowerObjective(ir, block, dims);
    const forward = eliminateDeadCode(eliminateCommonSubexpressions(lowered.graph));
    const out: string[] = [
      `# objective of '${block.path}': ${lowered.text}`,
      `# inputs: ${lowered.inputs.map((i) => `${i.name} ${i.value.dtype}[${i.value.shape.join(",")}]`).join(", ")}`,
      formatGraph(forward),
    ];
    const wrt = lowered.inputs.filter((i) => i.name === "logits" || i.name.endsWith("_logits"));
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
