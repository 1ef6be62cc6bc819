// `vlmp run` on a training pipeline (UEO, quickstart-like) with a tiny random CLIP and a small `ueo` world in
// a temp folder, on the reference interpreter: the loss falls over a few steps on a fixed batch; the step
// graph's gradient of the prompt context is the one of the model and loss lowered by hand (the graph that
// test/lower/clip-forward.test.ts checks against finite differences); a run interrupted after epoch 1 of 2
// and resumed ends with bit-identical metrics and parameters; the short last batch gets its own step.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { gradients } from "../../compiler/graph/autodiff.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { ValueId } from "../../compiler/graph/graph.ts";
import { type Argument, lowerFunction } from "../../compiler/lower/function.ts";
import { lowerModel } from "../../compiler/lower/model.ts";
import { objectiveBlocks } from "../../compiler/lower/objective.ts";
import { referenceBackend } from "../../runtime/engine/backend.ts";
import { readCheckpoint } from "../../runtime/engine/checkpoint.ts";
import { promptTensors } from "../../runtime/engine/evaluate.ts";
import { evaluationFeeds, loadBackbone } from "../../runtime/engine/model.ts";
import { buildStepGraph, epochOrder, modelParams, runTraining } from "../../runtime/engine/train.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";
import { expectClose, rng } from "../graph/helpers.ts";
import { interruptAtEpoch2 } from "../support/interrupt.ts";
import { compileForRun, tinyWorkspace, writeUeoSpec } from "../support/workspace.ts";

const workspace = tinyWorkspace("vlmp-train-", { count: 40, size: 32 });
const { dir } = workspace;

const spec = (name: string, train: string) => writeUeoSpec(workspace, name, train);

const backend = referenceBackend();

describe("training (reference interpreter)", () => {
  it("lowers the loss on a fixed batch step after step", async () => {
    const file = spec(
      "fixed",
      `    optimizer = sgd(lr: 0.01, groups: [group(prompt, lr: 0.01), group(affine, lr: 0.001)])
    schedule = constant()
    epochs = 3
    batch = 64
    shuffle = false`,
    );
    const { ir, hash } = compileForRun(file);
    const r = await runTraining(ir, {
      specText: "",
      irHash: hash,
      runsRoot: join(dir, "runs"),
      backendInstance: backend,
    });
    expect(r.steps).toBe(3);
    for (let i = 1; i < r.losses.length; i++) expect(r.losses[i]!).toBeLessThan(r.losses[i - 1]!);
    const run = readdirSync(r.dir);
    expect(run).toEqual(expect.arrayContaining(["checkpoints", "metrics.jsonl", "summary.json", "plots"]));
    expect(readdirSync(join(r.dir, "plots"))).toContain("loss.svg");
    const steps = readFileSync(join(r.dir, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((x) => x.kind === "step");
    expect(steps.map((s) => s.values.loss)).toEqual(r.losses);
  });

  it("keeps the short last batch, with its own step graph, unless drop_last", () => {
    const n = 23;
    expect([...epochOrder(n, 5, 1, true)].sort((a, b) => a - b)).toEqual(epochOrder(n, 5, 1, false));
    expect(epochOrder(n, 5, 1, true)).not.toEqual(epochOrder(n, 5, 2, true));
    expect(epochOrder(n, 5, 1, true)).toEqual(epochOrder(n, 5, 1, true));
  });

  it("resumes after epoch 1 of 2 to bit-identical final metrics and parameters", async () => {
    const file = spec(
      "resume",
      `    optimizer = sgd(lr: 0.05, momentum: 0.9, groups: [group(prompt, lr: 0.05), group(affine, lr: 0.01)])
    schedule = cosine(every: step)
    epochs = 2
    batch = 8
    augment = [random_resized_crop(size: 32, scale: [0.5, 1.0]), flip(p: 0.5)]
    eval_at_start = true`,
    );
    const { ir, hash } = compileForRun(file);
    const options = { specText: "", irHash: hash, runsRoot: join(dir, "runs"), backendInstance: backend };
    const whole = await runTraining(ir, options);
    const items = Math.round(whole.steps / 2);
    expect(whole.steps % 2).toBe(0);
    expect(items).toBeGreaterThan(1);

    const cut = await interruptAtEpoch2(ir, options, join(dir, "runs", "resume"));
    const resumed = await runTraining(ir, { ...options, resume: cut });
    expect(resumed.after).toEqual(whole.after);
    expect(resumed.before).toEqual(whole.before);
    expect(resumed.losses).toEqual(whole.losses.slice(items));
    const a = readCheckpoint(join(whole.dir, "checkpoints", "epoch-0002.safetensors"));
    const b = readCheckpoint(join(cut, "checkpoints", "epoch-0002.safetensors"));
    for (const [k, v] of a.params) expect(b.params.get(k)).toEqual(v);
    for (const [k, v] of a.optimizer) expect(b.optimizer.get(k)).toEqual(v);
  });
});

describe("the step graph", () => {
  it("gives the prompt context the gradient of the model and the UEO loss lowered by hand", async () => {
    const { ir } = compileForRun(spec("grad", "    optimizer = sgd(lr: 0.1)\n    epochs = 1\n    batch = 2"));
    const backbone = loadBackbone(ir);
    const adapters = ir.root.adapters;
    const o = objectiveBlocks(ir)[0]!;
    const params = modelParams(ir, backbone, adapters, 2023);
    const N = 2;
    const C = 3;
    const classes = ["circle", "square", "star"];
    const step = buildStepGraph(
      ir,
      backbone,
      adapters,
      o,
      { batch: N, classes: C, prompts: 1 },
      params.trainable,
    );
    const cache = new Map(params.values);
    const prompts = promptTensors({ adapters, templates: [], backbone }, classes);
    const r = rng(3);
    const pixels: Tensor = {
      shape: [N, 3, 32, 32],
      data: Float64Array.from({ length: N * 3 * 32 * 32 }, () => 2 * r() - 1),
    };
    const w: Tensor = { shape: [N], data: Float64Array.of(0.3, 0.7) };
    const feeds = evaluationFeeds(step.graph, backbone.checkpoint, cache);
    feeds.set(step.pixels, pixels);
    feeds.set(step.ids, prompts.ids);
    feeds.set(step.slots, prompts.slots);
    feeds.set(step.inputs.get("constants.weights")!.id, w);
    const values = await backend.run(step.graph, feeds, [step.loss, ...step.grads.values()]);

    // By hand: lowerModel (as clip-forward.test.ts) → losses.ueo → gradients w.r.t. the context.
    const b = new GraphBuilder();
    const px = b.input("pixels", [N, 3, 32, 32]);
    const ids = b.input("ids", [C, 1, 77], "i32");
    const slots = b.input("slots", [C, 1, 77], "i32");
    const m = lowerModel(
      ir,
      backbone.call,
      b,
      new Map<string, Argument>([
        ["pixels", px],
        ["ids", ids],
        ["slots", slots],
      ]),
      { adapters, dims: new Map([["P", 1]]) },
    );
    const wIn = b.input("w", [N]);
    const loss = lowerFunction(
      ir,
      "losses.ueo",
      new Map<string, Argument>([
        ["logits", m.sites.get("logits")!],
        ["w", wIn],
        ["lambda", 1],
      ]),
      b,
    );
    const ctx = m.params.find((p) => p.key === "adapters.prompt.ctx")!;
    const { graph, grads } = gradients(b.build(), loss.id, [ctx.value!.id]);
    const handFeeds = new Map<ValueId, Tensor>();
    for (const p of m.params) {
      if (!p.value) continue;
      handFeeds.set(
        p.value.id,
        cache.get(p.key) ?? {
          shape: p.shape,
          data: Float64Array.from(backbone.checkpoint.weights.read(p.key)),
        },
      );
    }
    handFeeds.set(px.id, pixels);
    handFeeds.set(ids.id, prompts.ids);
    handFeeds.set(slots.id, prompts.slots);
    handFeeds.set(wIn.id, w);
    const hand = evaluate(graph, handFeeds);
    expect(values.get(step.loss)!.data[0]).toBeCloseTo(hand.get(loss.id)!.data[0]!, 12);
    const g = values.get(step.grads.get("adapters.prompt.ctx")!)!.data;
    expectClose(g, hand.get(grads.get(ctx.value!.id)!)!.data, 1e-12);
    expect(Math.max(...g.map(Math.abs))).toBeGreaterThan(0);
    // The context starts as the token embeddings of "a photo of a": the zero-shot prompt exactly.
    expect(prompts.texts).toEqual(classes.map((c) => `a photo of a ${c}.`));
    expect([...prompts.slots.data.slice(0, 6)]).toEqual([4, 0, 1, 2, 3, 4]);
  });
});
