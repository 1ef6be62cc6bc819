// Evaluation on cached features: a `ueo` world's test images embedded once (`vlmp embed SPEC --data test`),
// then `vlmp run` of the same zero-shot pipeline with `test = features(file)` gives the metrics and logits
// the images give (within 1e-5), without the image tower; a file of another width, another class list, an
// adapter that changes the image features, or a training loop reading the file is a clear RunError; asked
// for image_features, the forward returns the cached rows themselves.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeSafetensors } from "../../runtime/checkpoint/index.ts";
import { featuresSource } from "../../runtime/data/sources/features.ts";
import { embedDataEntry, featuresFileMetadata, featuresFileTensors } from "../../runtime/embed/index.ts";
import { referenceBackend } from "../../runtime/engine/backend.ts";
import { forwardSource } from "../../runtime/engine/evaluate.ts";
import { loadBackbone } from "../../runtime/engine/model.ts";
import { runPipeline } from "../../runtime/engine/run.ts";
import { silentReporter } from "../../runtime/progress/reporter.ts";
import { compileForRun, tinyWorkspace, writePipeline } from "../support/workspace.ts";

const workspace = tinyWorkspace("vlmp-features-eval-", { count: 60, size: 32 });
const { dir, world } = workspace;
const backend = referenceBackend();
const root = JSON.stringify(world);

/** The zero-shot pipeline with `test` from `source`, `extra` after the data block. */
function zeroshot(name: string, source: string, extra = ""): string {
  return writePipeline(workspace, name, {
    uses: [
      "data.{synthetic, synthetic_classes, features}",
      "adapters.clip_adapter",
      "metrics.{accuracy, per_class_accuracy, auroc, fpr95, ece}",
    ],
    seed: 3,
    body: `  data {
    classes = synthetic_classes(world: ueo, root: ${root}, part: known)
    templates = ["a photo of a {}.", "a sketch of a {}."]
    test = ${source}
  }
${extra}
  evaluate test {
    batch = 10
    metrics = [accuracy(), per_class_accuracy(), auroc(score: msp, positive: known), fpr95(), ece()]
  }`,
  });
}

const IMAGES = `synthetic(world: ueo, root: ${root}, part: "test")`;

async function run(file: string) {
  const { ir, hash } = compileForRun(file);
  return runPipeline(ir, {
    specText: "",
    irHash: hash,
    runsRoot: join(dir, "runs"),
    backendInstance: backend,
    reporter: silentReporter,
  });
}

/** The images pipeline's test entry embedded into `dir/test.safetensors`. */
async function embedTest(): Promise<string> {
  const { ir, hash } = compileForRun(zeroshot("zs_images", IMAGES));
  const embedded = await embedDataEntry(ir, "test", {
    backend,
    batch: 16,
    reporter: silentReporter,
    workers: 0,
  });
  const file = join(dir, "test.safetensors");
  writeSafetensors(
    file,
    featuresFileTensors(embedded),
    featuresFileMetadata(embedded, {
      pipeline: ir.pipeline,
      irHash: hash,
      entry: "test",
      backend: "reference",
    }),
  );
  return file;
}

let embedded: Promise<string> | undefined;
/** The test entry embedded once for the whole file. */
const cachedFile = () => {
  embedded ??= embedTest();
  return embedded;
};

const cachedSource = (file: string) => `features(file: ${JSON.stringify(file)})`;

describe("evaluate on features(file)", () => {
  it("gives the metrics and logits of the images, within 1e-5", async () => {
    const file = await cachedFile();
    const images = await run(zeroshot("zs_images", IMAGES));
    const cached = await run(zeroshot("zs_cached", cachedSource(file)));
    expect(Object.keys(cached.after).sort()).toEqual(Object.keys(images.after).sort());
    for (const [k, v] of Object.entries(images.after)) expect(cached.after[k], k).toBeCloseTo(v, 5);
    const a = images.blocks[0]!.output;
    const b = cached.blocks[0]!.output;
    expect([b.rows, b.cols]).toEqual([a.rows, a.cols]);
    let worst = 0;
    for (let i = 0; i < a.data.length; i++) worst = Math.max(worst, Math.abs(a.data[i]! - b.data[i]!));
    expect(worst).toBeLessThan(1e-5);
    expect(cached.blocks[0]!.labels).toEqual(images.blocks[0]!.labels);
    // Known and unknown rows both, so AUROC and FPR95 are measured, not defaulted.
    expect(images.after["auroc"]).toBeGreaterThan(0);
  });

  it("returns the cached rows as image_features beside the logits", async () => {
    const file = await cachedFile();
    const { ir } = compileForRun(zeroshot("zs_sites", cachedSource(file)));
    const source = featuresSource(file);
    const classes = source.classes.slice(0, source.known);
    const ctx = {
      ir,
      backbone: loadBackbone(ir),
      backend,
      adapters: [],
      templates: ["a photo of a {}."],
      reporter: silentReporter,
      weightCache: new Map(),
    };
    const out = await forwardSource(ctx, "sites", source, classes, 7, ["image_features", "logits"]);
    const features = out.outputs.get("image_features")!;
    expect([features.rows, features.cols]).toEqual([source.items.length, 32]);
    expect([...features.data]).toEqual(source.items.flatMap((it) => [...it.features!]));
    expect(out.outputs.get("logits")!.cols).toBe(classes.length);
  });

  it("evaluates a pipeline that trains only the text side (a prompt context) as the images do", async () => {
    const file = await cachedFile();
    // One step of 4 known-class training images keeps the test short.
    const rows = readFileSync(join(world, "manifest.csv"), "utf8").trim().split("\n").slice(1);
    const four = rows
      .map((r) => r.split(","))
      .filter((c) => c[3] === "train" && Number(c[1]) < 8)
      .slice(0, 4);
    const trainCsv = join(dir, "train4.csv");
    writeFileSync(trainCsv, `path,label\n${four.map((c) => `${c[0]},${c[1]}`).join("\n")}\n`);
    const train = (name: string, test: string) =>
      writePipeline(workspace, name, {
        uses: [
          "adapters.prompt",
          "losses",
          "optim.{sgd, constant}",
          "data.{synthetic, synthetic_classes, features, csv}",
          "metrics.{accuracy, auroc}",
        ],
        seed: 0,
        body: `  data {
    classes = synthetic_classes(world: ueo, root: ${root}, part: known)
    train = csv(file: ${JSON.stringify(trainCsv)}, root: ${root})
    test = ${test}
  }
  adapt prompt(context: 2, init: "a photo")
  train {
    objective = losses.ce(logits, labels)
    optimizer = sgd(lr: 0.5)
    schedule = constant()
    epochs = 1
    batch = 4
  }
  evaluate test {
    batch = 12
    metrics = [accuracy(), auroc(score: msp, positive: known)]
  }`,
      });
    const images = await run(train("prompt_images", IMAGES));
    const cached = await run(train("prompt_cached", cachedSource(file)));
    expect(images.train?.steps).toBe(1);
    for (const [k, v] of Object.entries(images.after)) expect(cached.after[k], k).toBeCloseTo(v, 5);
  });

  it("refuses a file whose width is not the backbone's projection", async () => {
    const file = join(dir, "narrow.safetensors");
    const classes = ["circle", "square"];
    writeSafetensors(
      file,
      [
        { name: "features", shape: [2, 16], data: new Float32Array(32).fill(1) },
        { name: "labels", shape: [2], data: Float32Array.of(0, 1) },
      ],
      { classes: JSON.stringify(classes) },
    );
    await expect(run(zeroshot("zs_narrow", cachedSource(file)))).rejects.toThrow(
      /narrow\.safetensors: the features are 16 wide, but the backbone \(.*\) projects images to 32/,
    );
  });

  it("refuses a file embedded with another class list", async () => {
    const file = join(dir, "renamed.safetensors");
    writeSafetensors(
      file,
      [
        { name: "features", shape: [2, 32], data: new Float32Array(64).fill(1) },
        { name: "labels", shape: [2], data: Float32Array.of(0, 1) },
      ],
      { classes: JSON.stringify(["kite", "moon"]) },
    );
    await expect(run(zeroshot("zs_renamed", cachedSource(file)))).rejects.toThrow(
      /renamed\.safetensors: class 0 is 'kite' in the file's class list and '.+' in the pipeline's/,
    );
  });

  it("refuses an adapter that changes the image features", async () => {
    const file = await cachedFile();
    await expect(run(zeroshot("zs_adapted", cachedSource(file), "  adapt clip_adapter()"))).rejects.toThrow(
      /the parameter '.*' \(an adapter's, or trained\) changes the image features/,
    );
  });

  it("refuses to train on cached features", async () => {
    const file = await cachedFile();
    const spec = writePipeline(workspace, "train_cached", {
      uses: [
        "adapters.clip_adapter",
        "losses",
        "optim.{sgd, constant}",
        "data.{synthetic_classes, features}",
      ],
      seed: 0,
      body: `  data {
    classes = synthetic_classes(world: ueo, root: ${root}, part: known)
    train = ${cachedSource(file)}
  }
  adapt clip_adapter()
  train {
    objective = losses.ce(logits, labels)
    optimizer = sgd(lr: 0.05)
    schedule = constant()
    epochs = 1
    batch = 4
  }`,
    });
    await expect(run(spec)).rejects.toThrow(
      /train: features\(.*\) holds cached image features, but training runs the image tower on images/,
    );
  });
});
