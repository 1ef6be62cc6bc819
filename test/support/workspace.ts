// A temp folder holding a tiny random CLIP (`vlmp model make-tiny`, seed 0) and a synthetic `ueo` world,
// made once before a test file's tests and removed after them; and pipelines compiled for `vlmp run`.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { compileFile } from "../../compiler/compile.ts";
import type { PipelineIr } from "../../compiler/ir.ts";
import { makeTinyClip } from "../../runtime/checkpoint/make-tiny.ts";
import { makeWorld } from "../../runtime/data/synthetic/make.ts";

export interface TinyWorkspace {
  /** The temp folder. */
  readonly dir: string;
  /** The tiny CLIP's folder (`dir/tiny`). */
  readonly model: string;
  /** The `ueo` world's folder (`dir/ueo`). */
  readonly world: string;
}

/** Registers the hooks that make (before all tests) and remove (after) the workspace; call at top level. */
export function tinyWorkspace(prefix: string, world: { count: number; size: number }): TinyWorkspace {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const ws = { dir, model: join(dir, "tiny"), world: join(dir, "ueo") };
  beforeAll(async () => {
    makeTinyClip(ws.model, 0);
    await makeWorld("ueo", { out: ws.world, ...world, seed: 0 });
  });
  return ws;
}

/** Compiles a pipeline file for `vlmp run`, expecting no errors. */
export function compileForRun(file: string): { ir: PipelineIr; hash: string } {
  const result = compileFile(file, { mode: "run" });
  expect(result.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([]);
  return { ir: result.ir!, hash: result.hash! };
}
