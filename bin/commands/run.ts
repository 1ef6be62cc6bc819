// `vlmp run FILE [key=value ...] [--backend auto|webgpu|reference] [--runs DIR]`: compile in `run` mode
// (missing data and weight paths are errors), then run the pipeline (runtime/engine) into
// runs/<pipeline>/<time>-<irhash>/. Ctrl-C stops between batches; the run directory stays consistent
// (atomic writes; summary.json says "interrupted").

import { readFileSync } from "node:fs";
import { RunError } from "../../runtime/engine/errors.ts";
import { createReporter, type ProgressMode } from "../../runtime/progress/index.ts";
import { compileSpec, type SpecOptions } from "./compile-spec.ts";

export interface RunOptions extends SpecOptions {
  backend?: "auto" | "webgpu" | "reference";
  runs?: string;
  progress?: ProgressMode;
}

export async function runRun(file: string, overrideArgs: string[], options: RunOptions): Promise<number> {
  const compiled = compileSpec(file, overrideArgs, options, "run");
  if ("exitCode" in compiled) return compiled.exitCode;
  const { runPipeline } = await import("../../runtime/engine/run.ts");
  const reporter = createReporter(options.progress ?? "auto");
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    reporter.log("interrupted: stopping after the current batch (Ctrl-C again to quit at once)");
    abort.abort();
  };
  process.on("SIGINT", onSigint);
  try {
    const result = await runPipeline(compiled.ir, {
      specText: readFileSync(file, "utf8"),
      irHash: compiled.result.hash!,
      backend: options.backend ?? "auto",
      runsRoot: options.runs ?? "runs",
      reporter,
      signal: abort.signal,
    });
    reporter.close();
    const lines = [`run ${result.dir} (${result.backend})`];
    for (const b of result.blocks) {
      const values = Object.entries(b.metrics.values)
        .map(([k, v]) => `${k} ${Number.isNaN(v) ? "NaN" : v.toFixed(4)}`)
        .join(", ");
      lines.push(
        `  evaluate ${b.label}: ${b.images} images, ${(b.images / b.seconds).toFixed(1)} img/s; ${values}`,
      );
    }
    process.stdout.write(`${lines.join("\n")}\n`);
    return 0;
  } catch (error) {
    reporter.close();
    if (error instanceof RunError) {
      process.stderr.write(`vlmp: error: ${error.message}\n`);
      return abort.signal.aborted ? 130 : 1;
    }
    throw error;
  } finally {
    process.off("SIGINT", onSigint);
  }
}
