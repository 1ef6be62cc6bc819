// `vlmp run` end to end on a zero-shot pipeline: a tiny random CLIP (`vlmp model make-tiny`) and a `ueo`
// world (`vlmp data make ueo --count 60 --size 32`) in a temp folder; the run directory holds every file,
// accuracy is a fraction, the same seed gives the same metrics, and WebGPU agrees with the reference
// interpreter on the logits (skipped, with the reason, where no adapter exists).

import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { type Backend, referenceBackend, webgpuBackend } from "../../runtime/engine/backend.ts";
import { RunError } from "../../runtime/engine/errors.ts";
import { runPipeline } from "../../runtime/engine/run.ts";
import { silentReporter } from "../../runtime/progress/reporter.ts";
import { compileForRun, tinyWorkspace, writePipeline } from "../support/workspace.ts";

const exec = promisify(execFile);
const workspace = tinyWorkspace("vlmp-run-", { count: 60, size: 32 });
const { dir, model, world } = workspace;

const spec = (name: string, body: string) =>
  writePipeline(workspace, name, {
    uses: [
      "data.{synthetic, synthetic_classes, csv}",
      "metrics.{accuracy, per_class_accuracy, auroc, fpr95, ece}",
    ],
    seed: 7,
    body,
  });

const ZEROSHOT = `
  data {
    classes = synthetic_classes(world: ueo, root: ${JSON.stringify(world)}, part: known)
    templates = ["a photo of a {}.", "a sketch of a {}."]
    test = synthetic(world: ueo, root: ${JSON.stringify(world)}, part: "test")
  }

  evaluate test {
    batch = 10
    metrics = [accuracy(), per_class_accuracy(), auroc(score: msp, positive: known), fpr95(), ece()]
  }
`;

describe("vlmp run (zero-shot)", () => {
  it("runs from the command line and writes a whole run directory", async () => {
    const file = spec("zs_cli", ZEROSHOT);
    const runs = join(dir, "runs");
    const { stdout } = await exec(process.execPath, [
      "bin/vlmp.js",
      "run",
      file,
      "--backend",
      "reference",
      "--runs",
      runs,
      "--progress",
      "none",
    ]);
    expect(stdout).toMatch(
      /^run .*zs_cli\/\d{8}-\d{6}-[0-9a-f]{16} \(reference\)\n {2}evaluate test: 24 images/,
    );
    const [name] = readdirSync(join(runs, "zs_cli"));
    const run = join(runs, "zs_cli", name!);
    for (const f of ["spec.vlmp", "ir.json", "metrics.jsonl", "summary.json", "plots/scores-test.svg"]) {
      expect(existsSync(join(run, f)), f).toBe(true);
    }
    const summary = JSON.parse(readFileSync(join(run, "summary.json"), "utf8"));
    expect(summary.identity).toMatchObject({ pipeline: "zs_cli", seed: 7, device: "reference" });
    expect(summary.before).toBeUndefined();
    for (const k of ["accuracy", "per_class_accuracy", "auroc", "fpr95", "ece"]) {
      expect(summary.after[k]).toBeGreaterThanOrEqual(0);
      expect(summary.after[k]).toBeLessThanOrEqual(1);
    }
    expect(summary.extra.status).toBe("finished");
    const records = readFileSync(join(run, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ kind: "eval", split: "test", values: summary.after });
    expect(readFileSync(join(run, "spec.vlmp"), "utf8")).toBe(readFileSync(file, "utf8"));
  });

  it("the same seed twice gives identical metrics", async () => {
    const { ir, hash } = compileForRun(spec("zs_twice", ZEROSHOT));
    const runs = join(dir, "runs-twice");
    const a = await runPipeline(ir, { specText: "", irHash: hash, backend: "reference", runsRoot: runs });
    const b = await runPipeline(ir, { specText: "", irHash: hash, backend: "reference", runsRoot: runs });
    expect(a.dir).not.toBe(b.dir);
    expect(b.after).toEqual(a.after);
    expect(Array.from(b.blocks[0]!.output.data)).toEqual(Array.from(a.blocks[0]!.output.data));
  });

  it("fails with the missing image's path, leaving a consistent run directory", async () => {
    const first = readFileSync(join(world, "manifest.csv"), "utf8").split("\n")[1]!.split(",")[0];
    const rows = `path,label,split\n${first},0,x\nno/such.png,1,x\n`;
    writeFileSync(join(dir, "broken.csv"), rows);
    const file = spec(
      "zs_missing",
      `
  data {
    classes = synthetic_classes(world: ueo, root: ${JSON.stringify(world)}, part: known)
    test = csv(${JSON.stringify(join(dir, "broken.csv"))}, root: ${JSON.stringify(world)})
  }
  evaluate test {
    metrics = [accuracy()]
  }
`,
    );
    const { ir, hash } = compileForRun(file);
    const runs = join(dir, "runs-missing");
    await expect(
      runPipeline(ir, { specText: "", irHash: hash, backend: "reference", runsRoot: runs }),
    ).rejects.toThrow(RunError);
    await expect(
      runPipeline(ir, { specText: "", irHash: hash, backend: "reference", runsRoot: runs }),
    ).rejects.toThrow(/no\/such\.png/);
    const [name] = readdirSync(join(runs, "zs_missing"));
    const summary = JSON.parse(readFileSync(join(runs, "zs_missing", name!, "summary.json"), "utf8"));
    expect(summary.extra.status).toBe("interrupted");
  });

  it("precision = f16 on a backend that cannot hold f16 says so once", async () => {
    const half = compileForRun(spec("zs_f16_unheld", `  precision = f16\n${ZEROSHOT}`));
    const runs = join(dir, "runs-f16-unheld");
    const logged: string[] = [];
    const noHalf = { ...referenceBackend(), holdsHalf: false, description: "webgpu (no shader-f16)" };
    const result = await runPipeline(half.ir, {
      specText: "",
      irHash: half.hash,
      backendInstance: noHalf,
      runsRoot: runs,
      reporter: { ...silentReporter, log: (line) => logged.push(line) },
    });
    expect(logged.filter((l) => l.startsWith("warning: precision = f16"))).toEqual([
      expect.stringContaining("webgpu (no shader-f16) offers no shader-f16: the weights stay f32"),
    ]);
    expect(result.after["accuracy"]).toBeGreaterThanOrEqual(0);
  });

  it("a missing weights folder is a compile error under run (exit 1)", async () => {
    const file = spec("zs_noweights", ZEROSHOT.replace("evaluate test", "evaluate test"));
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace(JSON.stringify(model), JSON.stringify(join(dir, "nope"))),
    );
    const out = await exec(process.execPath, ["bin/vlmp.js", "run", file, "--runs", join(dir, "r")]).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((out as { code: number }).code).toBe(1);
    expect((out as { stderr: string }).stderr).toContain("nope");
  });

  it("WebGPU and the reference interpreter agree on the logits", async (ctx) => {
    let gpu: Backend;
    try {
      gpu = await webgpuBackend();
    } catch (error) {
      console.log(`skipped: no WebGPU adapter (${(error as Error).message.split("\n")[0]})`);
      ctx.skip();
      return;
    }
    try {
      const { ir, hash } = compileForRun(spec("zs_parity", ZEROSHOT));
      const runs = join(dir, "runs-parity");
      const ref = await runPipeline(ir, { specText: "", irHash: hash, backend: "reference", runsRoot: runs });
      const dev = await runPipeline(ir, { specText: "", irHash: hash, backendInstance: gpu, runsRoot: runs });
      const a = ref.blocks[0]!.output.data;
      const b = dev.blocks[0]!.output.data;
      expect(b.length).toBe(a.length);
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      expect(worst).toBeLessThan(1e-4);
      expect(dev.after["accuracy"]).toBe(ref.after["accuracy"]);

      // precision = f16: the device stores the matmuls' weights at f16 (lavapipe offers shader-f16), the
      // reference rounds them to f16; both then compute at f32, so they agree as closely as at f32, and
      // differ from the f32 run (this random checkpoint is f32) by the weights' rounding alone.
      const half = compileForRun(spec("zs_parity_f16", `  precision = f16\n${ZEROSHOT}`));
      const refHalf = await runPipeline(half.ir, {
        specText: "",
        irHash: half.hash,
        backend: "reference",
        runsRoot: runs,
      });
      const devHalf = await runPipeline(half.ir, {
        specText: "",
        irHash: half.hash,
        backendInstance: gpu,
        runsRoot: runs,
      });
      const h = refHalf.blocks[0]!.output.data;
      const d = devHalf.blocks[0]!.output.data;
      let worstHalf = 0;
      let fromF32 = 0;
      for (let i = 0; i < h.length; i++) {
        worstHalf = Math.max(worstHalf, Math.abs(h[i]! - d[i]!));
        fromF32 = Math.max(fromF32, Math.abs(h[i]! - a[i]!));
      }
      expect(worstHalf).toBeLessThan(1e-4);
      expect(fromF32).toBeGreaterThan(1e-5);
      expect(fromF32).toBeLessThan(0.05);
    } finally {
      gpu.close();
    }
  });
});
