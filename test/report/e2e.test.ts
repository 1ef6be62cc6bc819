// `vlmp report` end to end: `vlmp model make-tiny` and `vlmp data make ueo --count 40 --size 32` into a temp
// folder, a zero-shot spec run twice by `vlmp run` with seeds 1 and 2 (reference backend), and the report of
// the runs folder plus a malformed summary: one row per metric (n = 2), means equal to the summaries'.

import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "vlmp-report-e2e-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const vlmp = (...args: string[]) => exec(process.execPath, ["bin/vlmp.js", ...args]);
const model = join(dir, "tiny");
const world = join(dir, "ueo");
const runs = join(dir, "runs");
const spec = join(dir, "zs_report.vlmp");

beforeAll(async () => {
  await Promise.all([
    vlmp("model", "make-tiny", "--out", model),
    vlmp("data", "make", "ueo", "--out", world, "--count", "40", "--size", "32", "--progress", "none"),
  ]);
  writeFileSync(
    spec,
    `use clip
use data.{synthetic, synthetic_classes}
use metrics.{accuracy, auroc, fpr95}

pipeline zs_report {
  backbone = clip.tiny(weights: ${JSON.stringify(model)})

  data {
    classes = synthetic_classes(world: ueo, root: ${JSON.stringify(world)}, part: known)
    templates = ["a photo of a {}."]
    test = synthetic(world: ueo, root: ${JSON.stringify(world)}, part: "test")
  }

  evaluate test {
    batch = 16
    metrics = [accuracy(), auroc(score: msp, positive: known), fpr95()]
  }
}
`,
  );
  // Seeds 1 and 2 differ in the IR hash, so the two run directories cannot collide: run them side by side.
  await Promise.all(
    ["1", "2"].map((seed) =>
      vlmp("run", spec, `seed=${seed}`, "--backend", "reference", "--runs", runs, "--progress", "none"),
    ),
  );
  mkdirSync(join(runs, "broken"));
  writeFileSync(join(runs, "broken", "summary.json"), '{"identity": ');
}, 60_000);

describe("vlmp report (end to end)", () => {
  it("reports two seeds of a real zero-shot run as one row per metric", async () => {
    const names = readdirSync(join(runs, "zs_report"));
    expect(names).toHaveLength(2);
    const summaries = names.map((n) =>
      JSON.parse(readFileSync(join(runs, "zs_report", n, "summary.json"), "utf8")),
    );
    expect(summaries.map((s) => s.identity.seed).sort()).toEqual([1, 2]);

    const { stdout, stderr } = await vlmp("report", runs);
    expect(stderr).toContain(`vlmp: skipped ${join(runs, "broken", "summary.json")}: not valid JSON`);
    expect(stderr).toContain("1 skipped");
    const lines = stdout.split("\n");
    expect(lines.slice(0, 2)).toEqual([
      "| Method | Data set | Metric | After | n |",
      "|---|---|---|---:|---:|",
    ]);
    expect(lines[2]).toMatch(/^\| zs_report \| ueo \| accuracy \(%\) \| \d+\.\d\d ± \d+\.\d\d \| 2 \|$/);
    expect(lines[3]).toMatch(/^\| zs_report \| ueo \| auroc \(%\) \| (\d+\.\d\d ± \d+\.\d\d|n\/a) \| 2 \|$/);
    expect(lines[4]).toMatch(/^\| zs_report \| ueo \| fpr95 \(%\) \| (\d+\.\d\d ± \d+\.\d\d|n\/a) \| 2 \|$/);
    expect(stdout).toContain("Skipped 1 summary");

    const json = JSON.parse((await vlmp("report", runs, "--format", "json")).stdout);
    expect(json.runs).toBe(2);
    expect(json.skipped).toHaveLength(1);
    for (const metric of ["accuracy", "auroc", "fpr95"]) {
      const row = json.rows.find((r: { metric: string }) => r.metric === metric);
      const values = summaries.map((s) => s.after[metric]).filter((v) => v !== null);
      expect(row).toMatchObject({ method: "zs_report", dataset: "ueo", stage: "after", n: values.length });
      if (values.length > 0) {
        expect(row.mean).toBeCloseTo(values.reduce((a: number, b: number) => a + b, 0) / values.length, 10);
      }
    }

    const csv = (await vlmp("report", runs, "--format", "csv", "--metrics", "accuracy")).stdout;
    expect(csv).toMatch(
      /^method,dataset,metric,stage,mean,std,n,nan,unit\nzs_report,ueo,accuracy,after,[0-9.]+,[0-9.e-]+,2,0,fraction\n$/,
    );
  });

  it("exits 1 when nothing can be read", async () => {
    await expect(vlmp("report", join(runs, "broken"))).rejects.toMatchObject({ code: 1 });
  });
});
