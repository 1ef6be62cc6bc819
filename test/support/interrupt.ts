// Interrupting a training run as Ctrl-C does, at the start of epoch 2, for the resume tests.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import type { PipelineIr } from "../../compiler/ir.ts";
import { runPipeline } from "../../runtime/engine/run.ts";
import { type ProgressReporter, silentReporter } from "../../runtime/progress/reporter.ts";

type RunOptions = Parameters<typeof runPipeline>[1];

/** Runs `ir`, aborts it when epoch 2 starts, and returns the interrupted run's directory under `runs`. */
export async function interruptAtEpoch2(ir: PipelineIr, options: RunOptions, runs: string): Promise<string> {
  const abort = new AbortController();
  const reporter: ProgressReporter = {
    ...silentReporter,
    task(label, total, o) {
      if (label.startsWith("epoch 2/")) abort.abort();
      return silentReporter.task(label, total, o);
    },
  };
  await expect(runPipeline(ir, { ...options, reporter, signal: abort.signal })).rejects.toThrow(
    "interrupted",
  );
  const names = readdirSync(runs).sort();
  const cut = join(runs, names[names.length - 1]!);
  expect(JSON.parse(readFileSync(join(cut, "summary.json"), "utf8")).extra.status).toBe("interrupted");
  return cut;
}
