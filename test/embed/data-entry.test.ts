// `vlmp embed SPEC --data ENTRY`: a pipeline's data entry embedded with its backbone — the features equal
// the image features `vlmp run`'s evaluation computes from the same images (the engine's batched forward,
// its preprocessing), the labels and groups are the source's,
// and the metadata names the class list, the known count, the model and the spec; a spec takes --data and
// no --model, --images or --texts.

import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runEmbedData } from "../../bin/commands/embed-data.ts";
import { UsageError } from "../../bin/usage-error.ts";
import type { PipelineIr } from "../../compiler/ir.ts";
import { Safetensors } from "../../runtime/checkpoint/index.ts";
import { DataResolver } from "../../runtime/data/sources/resolve.ts";
import {
  type DataEntryFeatures,
  embedDataEntry,
  featuresFileTensors,
  towerGraph,
} from "../../runtime/embed/index.ts";
import { referenceBackend } from "../../runtime/engine/backend.ts";
import { forwardSource } from "../../runtime/engine/evaluate.ts";
import { loadBackbone } from "../../runtime/engine/model.ts";
import { silentReporter } from "../../runtime/progress/reporter.ts";
import { compileForRun, tinyWorkspace, writePipeline } from "../support/workspace.ts";

const workspace = tinyWorkspace("vlmp-embed-data-", { count: 40, size: 32 });
const { dir, model, world } = workspace;

/** A csv of the world's test rows with a made-up group column (label parity), for a source with groups. */
function groupsCsv(): string {
  const rows = readFileSync(join(world, "manifest.csv"), "utf8").trim().split("\n").slice(1);
  const test = rows.map((r) => r.split(",")).filter((c) => c[3] === "test");
  const file = join(dir, "groups.csv");
  writeFileSync(
    file,
    `path,label,group\n${test.map((c) => `${c[0]},${c[1]},${Number(c[1]) % 2}`).join("\n")}\n`,
  );
  return file;
}

/** The pipeline `name`; `settings` go before its blocks (`precision = f16`). */
function spec(name = "embed_data", settings = ""): string {
  const root = JSON.stringify(world);
  return writePipeline(workspace, name, {
    uses: ["data.{synthetic, synthetic_classes, csv}", "metrics.accuracy"],
    seed: 0,
    body: `${settings}  data {
    classes = synthetic_classes(world: ueo, root: ${root}, part: known)
    all = synthetic_classes(world: ueo, root: ${root}, part: all)
    test = synthetic(world: ueo, root: ${root}, part: "test")
    val = csv(file: ${JSON.stringify(groupsCsv())}, root: ${root}, group: "group", classes: all, known: classes)
  }
  evaluate test {
    batch = 8
    metrics = [accuracy()]
  }`,
  });
}

function read(file: string) {
  const st = Safetensors.open(file);
  const tensor = (name: string) =>
    st.tensors.has(name) ? { shape: st.info(name).shape, data: st.read(name) } : undefined;
  return {
    features: tensor("features")!,
    labels: tensor("labels")!,
    groups: tensor("groups"),
    metadata: st.metadata,
  };
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const VAL_OPTIONS = { backend: referenceBackend(), batch: 7, reporter: silentReporter, workers: 0 };

/** The image features of `data.val` as the evaluation's forward (engine) computes them, images batched. */
async function evaluatedFeatures(ir: PipelineIr, embedded: DataEntryFeatures): Promise<Float64Array> {
  const ctx = {
    ir,
    backbone: loadBackbone(ir),
    backend: VAL_OPTIONS.backend,
    adapters: [],
    templates: ["{}"],
    reporter: silentReporter,
    weightCache: new Map(),
  };
  const { source } = embedded;
  const evaluation = await forwardSource(ctx, "val", source, source.classes, 16, ["image_features"]);
  return evaluation.outputs.get("image_features")!.data;
}

describe("vlmp embed SPEC --data ENTRY", () => {
  it("writes the backbone's image features, the labels and the class list of the entry", () => {
    const file = spec();
    const out = join(dir, "test.safetensors");
    const run = spawnSync(
      process.execPath,
      [
        "bin/vlmp.js",
        "embed",
        file,
        "--data",
        "test",
        "--out",
        out,
        "--backend",
        "reference",
        "--progress",
        "plain",
      ],
      { encoding: "utf8" },
    );
    expect(run.stderr).toMatch(/\[embed test\] \d+\/\d+ \(100%\)/);
    expect(run.stderr).toMatch(/wrote features \[\d+, 32\], labels \[\d+\] of data\.test/);
    expect(run.status).toBe(0);
    const written = read(out);
    const { ir, hash } = compileForRun(file);
    const data = ir.root.blocks.find((b) => b.block === "data")!;
    const source = new DataResolver(data.settings).source(data.settings["test"]!);
    const S = source.items.length;
    expect(written.features.shape).toEqual([S, 32]);
    expect([...written.labels.data]).toEqual(source.items.map((it) => it.label));
    expect(written.groups).toBeUndefined();
    expect(JSON.parse(written.metadata["classes"]!)).toEqual(source.classes);
    expect(written.metadata).toMatchObject({
      known: String(source.known),
      model: model,
      pipeline: "embed_data",
      ir_hash: hash,
      data: "test",
    });
    expect(JSON.parse(written.metadata["paths"]!)).toEqual(source.items.map((it) => it.path));
    // Some unknown-class rows, labelled ≥ K as the source encodes them.
    expect(source.items.some((it) => it.label >= source.known)).toBe(true);
  });

  it("computes the image features `vlmp run` evaluates with, and keeps a source's groups", async () => {
    const { ir } = compileForRun(spec());
    const csvGroups = readFileSync(join(dir, "groups.csv"), "utf8")
      .trim()
      .split("\n")
      .slice(1)
      .map((line) => Number(line.split(",")[2]));
    const embedded = await embedDataEntry(ir, "val", VAL_OPTIONS);
    expect(embedded.dim).toBe(32);
    expect(maxAbs(embedded.features, await evaluatedFeatures(ir, embedded))).toBeLessThan(1e-5);
    const groups = featuresFileTensors(embedded).find((t) => t.name === "groups");
    expect(groups?.shape).toEqual([csvGroups.length]);
    expect([...groups!.data]).toEqual(csvGroups);
  });

  it("precision = f16: the tower's weights held at f16, fed as f32 and rounded, as the evaluation's", async () => {
    const { ir } = compileForRun(spec("embed_data_f16", "  precision = f16\n"));
    const tower = towerGraph(ir, loadBackbone(ir).call, "image", 7);
    expect(tower.graph.nodes.some((n) => n.op === "param" && n.dtype === "f16")).toBe(true);
    const half = await embedDataEntry(ir, "val", VAL_OPTIONS);
    expect(maxAbs(half.features, await evaluatedFeatures(ir, half))).toBeLessThan(1e-5);
    // This random checkpoint is f32: rounding its weights moves the features, by f16's precision at most.
    const full = await embedDataEntry(compileForRun(spec()).ir, "val", VAL_OPTIONS);
    const moved = maxAbs(half.features, full.features);
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThan(1e-2);
  });

  it("names the data block's sources when the entry is not one of them", async () => {
    const { ir } = compileForRun(spec());
    const options = { backend: referenceBackend(), batch: 8, reporter: silentReporter };
    await expect(embedDataEntry(ir, "train", options)).rejects.toThrow(
      "the data block of 'embed_data' has no source 'train' (sources: test, val)",
    );
    await expect(embedDataEntry(ir, "classes", options)).rejects.toThrow(/has no source 'classes'/);
  });

  it("is a usage error without --data, or with --model, --images or --texts beside the spec", async () => {
    const file = spec();
    const out = join(dir, "unused.safetensors");
    await expect(runEmbedData(file, [], { out, setFile: [] })).rejects.toThrow(
      "embedding a pipeline's data takes a spec FILE and --data ENTRY",
    );
    await expect(runEmbedData(file, [], { out, setFile: [], data: "test", model })).rejects.toThrow(
      "--model does not go with a spec",
    );
    await expect(runEmbedData(file, [], { out, setFile: [], data: "test", texts: "t.txt" })).rejects.toThrow(
      UsageError,
    );
  });
});
