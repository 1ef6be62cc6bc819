// `vlmp report` on hand-made run directories in a temp folder: 2 methods (zero-shot, and an adapter that
// trains, so it has `before`) × 2 data sets (a synthetic world, a CSV manifest) × 3 seeds, with NaN values
// (stored as null), a malformed summary, one without a seed, an unfinished run, and a base-to-novel method;
// the exact md / csv / json output.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  baseNovelOf,
  buildReport,
  cell,
  collectRuns,
  datasetName,
  formatReport,
  methodFingerprint,
  validateSummary,
} from "../../runtime/report/index.ts";

const root = mkdtempSync(join(tmpdir(), "vlmp-report-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

type Metrics = Record<string, number | null>;

const SOURCES = {
  ueo: {
    $call: "data.synthetic",
    definition: "extern",
    args: { world: { $symbol: "ueo" }, root: "data/synthetic/ueo", part: "test", seed: 0 },
  },
  waterbirds: {
    $call: "data.csv",
    definition: "extern",
    args: { file: "data/waterbirds/metadata.csv", root: "data/waterbirds/images", split: "test" },
  },
} as const;

function ir(
  pipeline: string,
  seed: number,
  dataset: keyof typeof SOURCES,
  settings: object = {},
  splits: readonly string[] = ["test"],
) {
  return {
    vlmp_ir: 1,
    pipeline,
    extends: [],
    root: {
      block: "pipeline",
      settings: { seed, ...settings },
      adapters: [],
      blocks: [
        { block: "data", settings: { test: SOURCES[dataset], train: null }, adapters: [], blocks: [] },
        ...splits.map((label) => ({ block: "evaluate", label, settings: {}, adapters: [], blocks: [] })),
      ],
    },
    definitions: {},
  };
}

function writeRun(
  dir: string,
  pipeline: string,
  seed: number,
  dataset: keyof typeof SOURCES,
  stages: { before?: Metrics; after?: Metrics },
  settings: object = {},
  splits: readonly string[] = ["test"],
): void {
  const path = join(root, dir);
  mkdirSync(path, { recursive: true });
  const identity = {
    pipeline,
    irHash: "0123456789abcdef",
    seed,
    device: "reference",
    vlmpVersion: "0.1.0",
    startedAt: "2026-01-01T00:00:00.000Z",
  };
  writeFileSync(
    join(path, "summary.json"),
    JSON.stringify({ identity, ...stages, extra: { status: "finished" } }, null, 2),
  );
  writeFileSync(
    join(path, "ir.json"),
    JSON.stringify(ir(pipeline, seed, dataset, settings, splits), null, 2),
  );
}

beforeAll(() => {
  const zs: Record<string, Metrics[]> = {
    ueo: [
      { accuracy: 0.5, auroc: 0.8 },
      { accuracy: 0.6, auroc: null },
      { accuracy: 0.7, auroc: 0.9 },
    ],
    waterbirds: [
      { accuracy: 0.9, auroc: null },
      { accuracy: 0.92, auroc: null },
      { accuracy: 0.94, auroc: null },
    ],
  };
  const adapter: Record<string, { before: Metrics; after: Metrics }[]> = {
    ueo: [
      { before: { accuracy: 0.5 }, after: { accuracy: 0.7, loss: 0.5 } },
      { before: { accuracy: 0.6 }, after: { accuracy: 0.75, loss: 0.25 } },
      { before: { accuracy: 0.7 }, after: { accuracy: 0.8, loss: 0.75 } },
    ],
    waterbirds: [
      { before: { accuracy: 0.9 }, after: { accuracy: 0.95, loss: 1.5 } },
      { before: { accuracy: 0.9 }, after: { accuracy: 0.96, loss: 1.5 } },
      { before: { accuracy: 0.9 }, after: { accuracy: 0.97, loss: 1.5 } },
    ],
  };
  for (const dataset of ["ueo", "waterbirds"] as const) {
    for (let s = 0; s < 3; s++) {
      writeRun(`runs/zs/${dataset}-${s}`, "zs", s + 1, dataset, { after: zs[dataset]![s]! });
      writeRun(`runs/adapter/${dataset}-${s}`, "adapter", s + 1, dataset, adapter[dataset]![s]!);
    }
  }
  mkdirSync(join(root, "runs/broken/a"), { recursive: true });
  writeFileSync(join(root, "runs/broken/a/summary.json"), "{ not json");
  mkdirSync(join(root, "runs/broken/b"), { recursive: true });
  writeFileSync(
    join(root, "runs/broken/b/summary.json"),
    JSON.stringify({ identity: { pipeline: "zs", irHash: "x" }, after: { accuracy: 1 } }),
  );
  mkdirSync(join(root, "runs/broken/c"), { recursive: true });
  writeFileSync(
    join(root, "runs/broken/c/summary.json"),
    JSON.stringify({
      identity: { pipeline: "zs", irHash: "x", seed: 9 },
      after: { accuracy: 0.1 },
      extra: { status: "interrupted" },
    }),
  );

  // Base-to-novel: `test.accuracy` (base) and `novel_test.accuracy`, 2 seeds × 2 data sets.
  const bn: [keyof typeof SOURCES, number, number, number][] = [
    ["ueo", 1, 0.8, 0.6],
    ["ueo", 2, 0.9, 0.7],
    ["waterbirds", 1, 0.6, 0.2],
    ["waterbirds", 2, 0.6, 0.2],
  ];
  for (const [dataset, seed, base, novel] of bn) {
    writeRun(
      `b2n/apex/${dataset}-${seed}`,
      "apex",
      seed,
      dataset,
      { after: { "test.accuracy": base, "novel_test.accuracy": novel } },
      {},
      ["test", "novel_test"],
    );
  }
});

const clean = (s: string) => s.split(root).join("<root>");

describe("vlmp report: reading runs", () => {
  it("validates summaries: the reason, never a throw", () => {
    expect(validateSummary([])).toBe("summary.json is not a JSON object");
    expect(validateSummary({ identity: { pipeline: "p", irHash: "h" } })).toBe(
      "identity.seed is not an integer",
    );
    expect(validateSummary({ identity: { pipeline: "p", irHash: "h", seed: 1 } })).toBe(
      "no before or after metrics",
    );
    expect(validateSummary({ identity: { pipeline: "p", irHash: "h", seed: 1 }, after: { a: "1" } })).toBe(
      "after.a is neither a number nor null",
    );
    expect(validateSummary({ identity: { pipeline: "p", irHash: "h", seed: 1 }, after: { a: null } })).toBe(
      null,
    );
  });

  it("collects recursively, skipping and counting the malformed and unfinished ones", () => {
    const c = collectRuns([join(root, "runs"), join(root, "no-such")]);
    expect(c.runs).toHaveLength(12);
    expect(c.skipped.map((s) => ({ ...s, path: clean(s.path), reason: s.reason.split(" (")[0] }))).toEqual([
      { path: "<root>/no-such", reason: "no such file or directory" },
      { path: "<root>/runs/broken/a/summary.json", reason: "not valid JSON" },
      { path: "<root>/runs/broken/b/summary.json", reason: "identity.seed is not an integer" },
      { path: "<root>/runs/broken/c/summary.json", reason: 'the run did not finish: status "interrupted"' },
    ]);
  });

  it("names data sets from their sources", () => {
    expect(datasetName(SOURCES.ueo)).toBe("ueo");
    expect(datasetName(SOURCES.waterbirds)).toBe("waterbirds");
    expect(
      datasetName({
        $call: "data.coop_split",
        args: { file: "data/dtd/split_zhou_DescribableTextures.json", root: "data/dtd/images" },
      }),
    ).toBe("dtd");
    expect(datasetName({ $call: "data.folder", args: { root: "/data/office_home/Art/" } })).toBe("Art");
    expect(datasetName({ $call: "data.subset", args: { of: SOURCES.ueo } })).toBe("ueo");
  });

  it("a method's fingerprint ignores the seed and the data sources, not other settings", () => {
    const a = methodFingerprint(ir("m", 1, "ueo"));
    expect(methodFingerprint(ir("m", 2, "waterbirds"))).toBe(a);
    expect(methodFingerprint(ir("m", 1, "ueo", { precision: "f16" }))).not.toBe(a);
  });

  it("one pipeline name with other settings becomes name@fingerprint", () => {
    const dir = join(root, "variants");
    const write = (sub: string, seed: number, settings: object) => {
      mkdirSync(join(dir, sub), { recursive: true });
      writeFileSync(
        join(dir, sub, "summary.json"),
        JSON.stringify({ identity: { pipeline: "m", irHash: "h", seed }, after: { accuracy: 0.5 } }),
      );
      writeFileSync(join(dir, sub, "ir.json"), JSON.stringify(ir("m", seed, "ueo", settings)));
    };
    write("a", 1, {});
    write("b", 2, {});
    write("c", 1, { lr: 0.1 });
    const report = buildReport(collectRuns([dir]));
    const fa = methodFingerprint(ir("m", 1, "ueo"));
    const fc = methodFingerprint(ir("m", 1, "ueo", { lr: 0.1 }));
    expect(report.rows.map((r) => [r.method, r.runs]).sort()).toEqual(
      [
        [`m@${fa}`, 2],
        [`m@${fc}`, 1],
      ].sort(),
    );
  });

  it("mean ± sample std; NaN left out and counted", () => {
    expect(cell([0.5, 0.6, 0.7])).toEqual({ mean: 0.6, std: expect.closeTo(0.1, 12), n: 3, nan: 0 });
    expect(cell([0.5])).toMatchObject({ mean: 0.5, n: 1 });
    expect(Number.isNaN(cell([0.5]).std)).toBe(true);
    expect(cell([Number.NaN, 1, 3])).toEqual({ mean: 2, std: Math.SQRT2, n: 2, nan: 1 });
    expect(cell([Number.NaN])).toMatchObject({ n: 0, nan: 1 });
  });

  it("finds base and novel accuracies in a summary", () => {
    expect(baseNovelOf({ base: 0.8, novel: 0.6, hm: 0.7 })).toEqual({ base: 0.8, novel: 0.6 });
    expect(baseNovelOf({ "base_novel.base": 0.8, "base_novel.novel": 0.6 })).toEqual({
      base: 0.8,
      novel: 0.6,
    });
    expect(baseNovelOf({ base_accuracy: 0.8, novel_accuracy: null })).toMatchObject({ base: 0.8 });
    expect(baseNovelOf({ "test.accuracy": 0.8, "novel_test.accuracy": 0.6 })).toEqual({
      base: 0.8,
      novel: 0.6,
    });
    expect(baseNovelOf({ accuracy: 0.8 })).toBeNull();
  });
});

describe("vlmp report: output", () => {
  const report = () => buildReport(collectRuns([join(root, "runs")]));

  it("md: a GitHub table, before/after/Δ, percent units, n/a and partial-NaN footnotes", () => {
    expect(formatReport(report(), "md")).toBe(
      `| Method | Data set | Metric | Before | After | Δ | n |
|---|---|---|---:|---:|---:|---:|
| adapter | ueo | accuracy (%) | 60.00 ± 10.00 | 75.00 ± 5.00 | +15.00 ± 5.00 | 3 |
| adapter | ueo | loss |  | 0.5000 ± 0.2500 |  | 3 |
| adapter | waterbirds | accuracy (%) | 90.00 ± 0.00 | 96.00 ± 1.00 | +6.00 ± 1.00 | 3 |
| adapter | waterbirds | loss |  | 1.5000 ± 0.0000 |  | 3 |
| zs | ueo | accuracy (%) |  | 60.00 ± 10.00 |  | 3 |
| zs | ueo | auroc (%) |  | 85.00 ± 7.07 (n=2)† |  | 3 |
| zs | waterbirds | accuracy (%) |  | 92.00 ± 2.00 |  | 3 |
| zs | waterbirds | auroc (%) |  | n/a |  | 3 |

- Mean ± sample std over seeds; n = runs (seeds) per row; a single run shows no ±. (%) = fraction × 100.
- Δ = after − before per run, then mean ± std (percentage points for %).
- Method = pipeline name; runs that differ only by seed share a row (name@hash: same name, other settings).
- n/a: undefined (NaN) in every run, e.g. AUROC with only one class present.
- †: NaN in some runs; mean and std over the n runs where it is defined.
- Skipped 3 summaries (missing, malformed or unfinished; paths on stderr).
`,
    );
  });

  it("csv: one row per method, data set, metric and stage", () => {
    expect(formatReport(report(), "csv")).toBe(
      `method,dataset,metric,stage,mean,std,n,nan,unit
adapter,ueo,accuracy,before,0.6,0.1,3,0,fraction
adapter,ueo,accuracy,after,0.75,0.05,3,0,fraction
adapter,ueo,accuracy,delta,0.15,0.05,3,0,fraction
adapter,ueo,loss,after,0.5,0.25,3,0,value
adapter,waterbirds,accuracy,before,0.9,0,3,0,fraction
adapter,waterbirds,accuracy,after,0.96,0.01,3,0,fraction
adapter,waterbirds,accuracy,delta,0.06,0.01,3,0,fraction
adapter,waterbirds,loss,after,1.5,0,3,0,value
zs,ueo,accuracy,after,0.6,0.1,3,0,fraction
zs,ueo,auroc,after,0.85,0.0707106781187,2,1,fraction
zs,waterbirds,accuracy,after,0.92,0.02,3,0,fraction
zs,waterbirds,auroc,after,,,0,3,fraction
`,
    );
  });

  it("json: the same rows as objects, with the skipped summaries", () => {
    const json = JSON.parse(clean(formatReport(report(), "json")));
    expect(json.runs).toBe(12);
    expect(json.skipped).toHaveLength(3);
    expect(json.skipped[1]).toEqual({
      path: "<root>/runs/broken/b/summary.json",
      reason: "identity.seed is not an integer",
    });
    expect(json.rows).toHaveLength(12);
    expect(json.rows[2]).toEqual({
      method: "adapter",
      dataset: "ueo",
      metric: "accuracy",
      stage: "delta",
      mean: 0.15,
      std: 0.05,
      n: 3,
      nan: 0,
      unit: "fraction",
    });
    expect(json.rows[11]).toEqual({
      method: "zs",
      dataset: "waterbirds",
      metric: "auroc",
      stage: "after",
      mean: null,
      std: null,
      n: 0,
      nan: 3,
      unit: "fraction",
    });
  });

  it("--stage, --metrics and --split select what is shown", () => {
    const runs = collectRuns([join(root, "runs")]);
    const after = buildReport(runs, { stage: "after", metrics: ["auroc", "accuracy"] });
    expect(after.stages).toEqual(["after"]);
    expect(after.rows.map((r) => `${r.method} ${r.dataset} ${r.metric}`)).toEqual([
      "adapter ueo accuracy",
      "adapter waterbirds accuracy",
      "zs ueo auroc",
      "zs ueo accuracy",
      "zs waterbirds auroc",
      "zs waterbirds accuracy",
    ]);
    const before = buildReport(runs, { stage: "before" });
    expect(before.rows.map((r) => `${r.method} ${r.dataset} ${r.metric}`)).toEqual([
      "adapter ueo accuracy",
      "adapter waterbirds accuracy",
    ]);
    expect(formatReport(before, "md").split("\n").slice(0, 3)).toEqual([
      "| Method | Data set | Metric | Before | n |",
      "|---|---|---|---:|---:|",
      "| adapter | ueo | accuracy (%) | 60.00 ± 10.00 | 3 |",
    ]);
    expect(buildReport(runs, { split: "val" }).rows).toEqual([]);
    expect(buildReport(runs, { split: "test" }).rows).toHaveLength(8);
  });

  it("base-to-novel: HM per data set and both across-data-set conventions, labelled", () => {
    const r = buildReport(collectRuns([join(root, "b2n")]), { split: "novel_test" });
    // ueo: B = 0.85, N = 0.65, HM = 0.73667; waterbirds: B = 0.6, N = 0.2, HM = 0.3.
    // Mean of HMs = 0.51833; HM of means = HM(0.725, 0.425) = 0.53587.
    expect(formatReport(r, "md")).toBe(
      `| Method | Data set | Metric | After | n |
|---|---|---|---:|---:|
| apex | ueo | accuracy (%) | 65.00 ± 7.07 | 2 |
| apex | waterbirds | accuracy (%) | 20.00 ± 0.00 | 2 |

Base-to-novel accuracy (%), after: HM per data set of the seed-mean base and novel accuracies; across data sets both conventions (METHODS §6.9).

| Method | Data set | Base | Novel | HM |
|---|---|---:|---:|---:|
| apex | ueo | 85.00 ± 7.07 | 65.00 ± 7.07 | 73.67 |
| apex | waterbirds | 60.00 ± 0.00 | 20.00 ± 0.00 | 30.00 |
| apex | average of 2 data sets, mean of HMs (APEX) | 72.50 | 42.50 | 51.83 |
| apex | average of 2 data sets, HM of means (CoOp/CoCoOp) | 72.50 | 42.50 | 53.59 |

- Mean ± sample std over seeds; n = runs (seeds) per row; a single run shows no ±. (%) = fraction × 100.
- Method = pipeline name; runs that differ only by seed share a row (name@hash: same name, other settings).
`,
    );
    const csv = formatReport(r, "csv").split("\n");
    expect(csv.slice(3)).toEqual([
      "apex,ueo,base_novel.base,after,0.85,0.0707106781187,2,0,fraction",
      "apex,ueo,base_novel.novel,after,0.65,0.0707106781187,2,0,fraction",
      "apex,ueo,base_novel.hm,after,0.736666666667,,2,0,fraction",
      "apex,waterbirds,base_novel.base,after,0.6,0,2,0,fraction",
      "apex,waterbirds,base_novel.novel,after,0.2,0,2,0,fraction",
      "apex,waterbirds,base_novel.hm,after,0.3,,2,0,fraction",
      "apex,average,base_novel.base,after,0.725,,2,0,fraction",
      "apex,average,base_novel.novel,after,0.425,,2,0,fraction",
      "apex,average,base_novel.hm_mean_of_hms,after,0.518333333333,,2,0,fraction",
      "apex,average,base_novel.hm_of_means,after,0.535869565217,,2,0,fraction",
      "",
    ]);
  });
});
