// AUROC, AUPR, FPR95 and ECE against the NumPy reference (bench/ref/metrics_reference.py) on the committed
// random fixture; where /usr/bin/python3 has numpy, the script is rerun and must reproduce the fixture.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { aupr, auroc, ece, fpr95 } from "../../runtime/metrics/index.ts";
import { torchUnavailable } from "../support/torch-fixture.ts";

interface ScoreCase {
  name: string;
  scores: number[];
  positive: number[];
  auroc: number;
  auroc_neg: number;
  aupr: number;
  fpr95_atLeast: number;
  fpr95_closest: number;
}
interface EceCase {
  name: string;
  rows: number;
  cols: number;
  logits: number[];
  labels: number[];
  batch: number;
  ece_pooled: number;
  ece_perBatch: number;
}
interface Fixture {
  scores: ScoreCase[];
  ece: EceCase[];
}

const FIXTURE = join("test", "fixtures", "metrics", "metrics_reference.json");
const fixture = JSON.parse(readFileSync(FIXTURE, "utf8")) as Fixture;

describe("metrics against NumPy (committed fixture)", () => {
  for (const c of fixture.scores) {
    it(`${c.name}: AUROC, AUPR, FPR95`, () => {
      expect(auroc(c.scores, c.positive).value).toBeCloseTo(c.auroc, 12);
      expect(
        auroc(
          c.scores.map((s) => -s),
          c.positive,
        ).value,
      ).toBeCloseTo(c.auroc_neg, 12);
      expect(aupr(c.scores, c.positive).value).toBeCloseTo(c.aupr, 12);
      expect(fpr95(c.scores, c.positive, { mode: "atLeast" }).value).toBeCloseTo(c.fpr95_atLeast, 12);
      expect(fpr95(c.scores, c.positive, { mode: "closest" }).value).toBeCloseTo(c.fpr95_closest, 12);
    });
  }
  for (const c of fixture.ece) {
    it(`${c.name}: ECE pooled and per batch`, () => {
      const m = { data: c.logits, rows: c.rows, cols: c.cols };
      expect(ece(m, c.labels).value).toBeCloseTo(c.ece_pooled, 12);
      expect(ece(m, c.labels, { mode: "perBatch", batch: c.batch }).value).toBeCloseTo(c.ece_perBatch, 12);
    });
  }
});

const numpyReason = torchUnavailable("metrics fixture regeneration check", ["numpy"]);

describe("metrics fixture generator", () => {
  it.skipIf(numpyReason !== "")("reproduces the committed fixture", () => {
    const dir = mkdtempSync(join(tmpdir(), "vlmp-metrics-ref-"));
    try {
      const run = spawnSync("/usr/bin/python3", ["bench/ref/metrics_reference.py", dir], {
        encoding: "utf8",
      });
      expect(run.status, run.stderr).toBe(0);
      const again = JSON.parse(readFileSync(join(dir, "metrics_reference.json"), "utf8")) as Fixture;
      expect(again).toEqual(fixture);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
