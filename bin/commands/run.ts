// `vlmp run FILE [key=value ...] [--backend auto|webgpu|reference] [--runs DIR]`, or `vlmp run --resume RUN_DIR`
// (a training run or task sequence continued from its last checkpoint, with the IR it holds): compile in
// `run` mode (missing data and weight paths are errors), then run the pipeline (runtime/engine) into
// runs/<pipeline>/<time>-<irhash>/. Ctrl-C stops between batches; the run directory stays consistent
// (atomic writes; summary.json says "interrupted").

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { PipelineIr } from "../../compiler/ir.ts";
import type { BackendKind } from "../../runtime/engine/backend.ts";
import { RunError } from "../../runtime/engine/errors.ts";
import { createReporter, type ProgressMode } from "../../runtime/progress/index.ts";
import { compileSpec, type SpecOptions } from "./compile-spec.ts";

export interface RunOptions extends SpecOptions {
  backend?: BackendKind;
  runs?: string;
  progress?: ProgressMode;
  /** A run directory to continue (training pipelines, task sequences): its ir.json and spec.vlmp are used. */
  resume?: string;
}

/** The IR, hash and spec of a run directory (`--resume`). */
function fromRunDirectory(dir: string): { ir: PipelineIr; hash: string; specText: string } | string {
  const irFile = join(dir, "ir.json");
  const summaryFile = join(dir, "summary.json");
  if (!existsSync(irFile) || !existsSync(summaryFile))
    return `${dir} is not a run directory (no ir.json or summary.json)`;
  const summary = JSON.parse(readFileSync(summaryFile, "utf8")) as { identity?: { irHash?: string } };
  return {
    ir: JSON.parse(readFileSync(irFile, "utf8")) as PipelineIr,
    hash: String(summary.identity?.irHash ?? ""),
    specText: existsSync(join(dir, "spec.vlmp")) ? readFileSync(join(dir, "spec.vlmp"), "utf8") : "",
  };
}

export async function runRun(
  file: string | undefined,
  overrideArgs: string[],
  options: RunOptions,
): Promise<number> {
  let ir: PipelineIr;
  let irHash: string;
  let specText: string;
  if (options.resume) {
    if (file !== undefined || overrideArgs.length > 0) {
      process.stderr.write(
        "vlmp: error: --resume takes no file or overrides: the run directory holds its spec\n",
      );
      return 2;
    }
    const loaded = fromRunDirectory(options.resume);
    if (typeof loaded === "string") {
      process.stderr.write(`vlmp: error: ${loaded}\n`);
      return 1;
    }
    ({ ir, hash: irHash, specText } = loaded);
  } else {
    if (file === undefined) {
      process.stderr.write("vlmp: error: vlmp run needs a .vlmp file (or --resume RUN_DIR)\n");
      return 2;
    }
    const compiled = compileSpec(file, overrideArgs, options, "run");
    if ("exitCode" in compiled) return compiled.exitCode;
    ir = compiled.ir;
    irHash = compiled.result.hash!;
    specText = readFileSync(file, "utf8");
  }
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
    const result = await runPipeline(ir, {
      specText,
      irHash,
      ...(options.resume ? { resume: options.resume } : {}),
      backend: options.backend ?? "auto",
      runsRoot: options.runs ?? "runs",
      reporter,
      signal: abort.signal,
    });
    reporter.close();
    const lines = [`run ${result.dir} (${result.backend})`];
    const fmt = (m: Record<string, number>) =>
      Object.entries(m)
        .map(([k, v]) => `${k} ${Number.isNaN(v) ? "NaN" : v.toFixed(4)}`)
        .join(", ");
    if (result.tasks !== undefined) lines.push(`  tasks: ${result.tasks}`);
    if (result.train) {
      const { steps, epochs, seconds, timedSteps } = result.train;
      const rate = timedSteps > 0 ? `, ${(timedSteps / Math.max(seconds, 1e-9)).toFixed(2)} steps/s` : "";
      lines.push(`  train: ${epochs} epochs, ${steps} steps${rate}`);
      if (result.before) lines.push(`  before: ${fmt(result.before)}`);
      lines.push(`  after:  ${fmt(result.after)}`);
    } else if (result.tasks !== undefined) lines.push(`  after:  ${fmt(result.after)}`);
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
