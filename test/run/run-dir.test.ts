// Run directories: layout, identity, metrics.jsonl, summary.json, plots; atomic writes survive a crash
// between writing the temporary file and renaming it; a torn metrics line is dropped.

import { spawnSync } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { reliability } from "../../runtime/metrics/index.ts";
import {
  RunDirectory,
  readJsonl,
  runDirName,
  VLMP_VERSION,
  writeCurvePlots,
  writeFileAtomic,
  writeReliabilityPlot,
  writeScoreHistogram,
} from "../../runtime/run/index.ts";
import { wellFormedProblems } from "./xml.ts";

const dir = mkdtempSync(join(tmpdir(), "vlmp-run-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const IR = { vlmp_ir: 1, pipeline: "ueo", extends: [], root: { block: "pipeline" }, definitions: {} };

function makeRun(now = new Date(Date.UTC(2025, 0, 2, 3, 4, 5))): RunDirectory {
  return RunDirectory.create({
    root: join(dir, "runs"),
    pipeline: "ueo",
    specText: "pipeline ueo {}\n",
    ir: IR,
    irHash: "0123456789abcdef",
    seed: 7,
    device: "reference",
    now,
  });
}

describe("run directory", () => {
  it("lays out runs/<pipeline>/<time>-<irhash>/ with spec, IR, log, summary and plots", () => {
    expect(runDirName("abc", new Date(Date.UTC(2025, 0, 2, 3, 4, 5)))).toBe("20250102-030405-abc");
    const run = makeRun();
    expect(run.path).toBe(join(dir, "runs", "ueo", "20250102-030405-0123456789abcdef"));
    expect(readdirSync(run.path).sort()).toEqual([
      "ir.json",
      "metrics.jsonl",
      "plots",
      "spec.vlmp",
      "summary.json",
    ]);
    expect(readFileSync(run.file("spec.vlmp"), "utf8")).toBe("pipeline ueo {}\n");
    expect(JSON.parse(readFileSync(run.file("ir.json"), "utf8"))).toEqual(IR);
    expect(run.summary().identity).toEqual({
      pipeline: "ueo",
      irHash: "0123456789abcdef",
      seed: 7,
      device: "reference",
      vlmpVersion: VLMP_VERSION,
      startedAt: "2025-01-02T03:04:05.000Z",
    });
    // Same IR, same second: a suffix, never a clash.
    expect(makeRun().path.endsWith("-0123456789abcdef-2")).toBe(true);
  });

  it("appends metrics lines and writes before/after summaries (NaN → null)", () => {
    const run = makeRun(new Date(Date.UTC(2025, 1, 1)));
    run.log({ kind: "eval", epoch: 0, split: "test", values: { accuracy: 0.5, auroc: Number.NaN } });
    run.log({ kind: "step", step: 1, epoch: 1, values: { loss: 2.5 }, time: 0.1 });
    run.log({ kind: "eval", epoch: 1, split: "test", values: { accuracy: 0.75, auroc: 0.8 } });
    const records = run.records();
    expect(records).toHaveLength(3);
    expect(records[0]!.values).toEqual({ accuracy: 0.5, auroc: null });
    expect(records[1]).toEqual({ kind: "step", step: 1, epoch: 1, values: { loss: 2.5 }, time: 0.1 });
    run.writeSummary({ before: { accuracy: 0.5, auroc: Number.NaN } });
    run.writeSummary({ after: { accuracy: 0.75, auroc: 0.8 }, extra: { selected_epoch: 1 } });
    const summary = run.summary();
    expect(summary.before).toEqual({ accuracy: 0.5, auroc: null });
    expect(summary.after).toEqual({ accuracy: 0.75, auroc: 0.8 });
    expect(summary.extra).toEqual({ selected_epoch: 1 });
    expect(summary.identity.irHash).toBe("0123456789abcdef");
  });

  it("drops a torn last metrics line when read, and cuts it when the run is reopened", () => {
    const run = makeRun(new Date(Date.UTC(2025, 2, 1)));
    run.log({ kind: "step", step: 1, values: { loss: 1 } });
    appendFileSync(run.file("metrics.jsonl"), '{"kind":"step","st');
    expect(run.records()).toHaveLength(1);
    const again = RunDirectory.open(run.path);
    expect(readFileSync(run.file("metrics.jsonl"), "utf8").endsWith("}\n")).toBe(true);
    again.log({ kind: "step", step: 2, values: { loss: 0.5 } });
    expect(readJsonl(run.file("metrics.jsonl"))).toHaveLength(2);
    expect(again.identity).toEqual(run.identity);
  });
});

describe("atomic writes", () => {
  it("a failure before the rename leaves the old file and no temporary file", () => {
    const path = join(dir, "atomic.json");
    writeFileAtomic(path, "old\n");
    expect(() =>
      writeFileAtomic(path, "new\n", {
        beforeRename: () => {
          throw new Error("simulated crash");
        },
      }),
    ).toThrow("simulated crash");
    expect(readFileSync(path, "utf8")).toBe("old\n");
    expect(readdirSync(dir).filter((f) => f.includes("atomic.json") && f.endsWith(".tmp"))).toEqual([]);
    writeFileAtomic(path, "new\n");
    expect(readFileSync(path, "utf8")).toBe("new\n");
  });

  it("a process killed mid-write leaves the old file whole", () => {
    const path = join(dir, "killed.json");
    writeFileSync(path, "old contents\n");
    const script = join(dir, "crash.ts");
    const atomic = resolve("runtime/run/atomic.ts");
    writeFileSync(
      script,
      `import { writeFileAtomic } from ${JSON.stringify(atomic)};\n` +
        `writeFileAtomic(${JSON.stringify(path)}, "x".repeat(1 << 22), { beforeRename: () => process.kill(process.pid, "SIGKILL") });\n`,
    );
    const child = spawnSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8" });
    expect(child.signal).toBe("SIGKILL");
    expect(readFileSync(path, "utf8")).toBe("old contents\n");
    // The crash left its temporary file behind, next to (not instead of) the target.
    expect(readdirSync(dir).some((f) => f.startsWith(".killed.json.") && f.endsWith(".tmp"))).toBe(true);
  });
});

describe("plots", () => {
  it("curves, reliability diagram and score histograms are well-formed SVG that rasterises", async () => {
    const run = makeRun(new Date(Date.UTC(2025, 3, 1)));
    for (let s = 1; s <= 120; s++) run.log({ kind: "step", step: s, values: { loss: 2 / Math.sqrt(s) } });
    for (let e = 0; e <= 5; e++) {
      run.log({
        kind: "eval",
        epoch: e,
        split: 'test <&> "odd"',
        values: { accuracy: 0.5 + e / 20, auroc: e === 2 ? Number.NaN : 0.7 },
      });
    }
    const written = writeCurvePlots(run);
    const conf = Array.from({ length: 200 }, (_, i) => 0.3 + (0.7 * i) / 200);
    written.push(
      writeReliabilityPlot(
        run,
        "test",
        reliability(
          conf,
          conf.map((c, i) => (i % 10) / 10 < c - 0.1),
          15,
        ),
      ),
    );
    written.push(
      writeScoreHistogram(
        run,
        "test",
        "msp",
        conf.map((c) => c),
        conf.map((c) => c * 0.7),
      ),
    );
    expect(written.map((p) => p.split("/").at(-1)).sort()).toEqual([
      "loss.svg",
      "metrics-test______odd_.svg",
      "reliability-test.svg",
      "scores-test.svg",
    ]);
    for (const path of written) {
      const svg = readFileSync(path, "utf8");
      expect(wellFormedProblems(svg), path).toEqual([]);
      expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
      const meta = await sharp(Buffer.from(svg)).metadata();
      expect(meta.width).toBe(640);
    }
    expect(readFileSync(written[1]!, "utf8")).toContain("test &lt;&amp;&gt; &quot;odd&quot;");
    expect(existsSync(run.file("plots/loss.svg"))).toBe(true);
  });

  it("the well-formedness checker catches broken XML", () => {
    expect(wellFormedProblems("<svg><g></svg>")).not.toEqual([]);
    expect(wellFormedProblems('<svg a="1" a="2"/>')).not.toEqual([]);
    expect(wellFormedProblems("<svg>a & b</svg>")).not.toEqual([]);
    expect(wellFormedProblems("<svg/><svg/>")).not.toEqual([]);
    expect(wellFormedProblems('<svg x="1"><text>a &amp; b</text></svg>')).toEqual([]);
  });
});
