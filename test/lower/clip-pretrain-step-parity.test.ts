// Parity: one contrastive pre-training step on the tiny checkpoint (`vlmp model make-tiny`, seed 0) for a
// fixed batch (4 images, each with its own caption), built as `vlmp run` builds it (runtime/engine/train.ts
// buildStepGraph with `captions: true`: C = N, one prompt per caption; `adapt full()` → every parameter
// trainable; losses.clip_pairs(caption_logits) → gradients()) and run in the reference interpreter, against
// PyTorch in float64 (bench/ref/clip_pretrain_step_reference.py, clip_reference.py's forward): the loss and
// the gradients of the temperature, both projections, the text embeddings (the token embedding's rows of
// the captions' tokens), one attention and LayerNorm per tower and the vision embeddings at 1e-4 relative
// (float64 on both sides: ~1e-14 in practice). Where torch is importable by /usr/bin/python3 the script
// is rerun into a temp folder and must reproduce the committed fixture.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { captionPrompts } from "../../runtime/engine/prompts.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";
import { expectClose } from "../graph/helpers.ts";
import {
  expectChecksum,
  expectSameStep,
  expectStepMatches,
  oneStepTrain,
  promptRows,
  type StepFixture,
  stepReference,
  vlmpStep,
} from "../support/step-parity.ts";
import type { Dumped } from "../support/torch-fixture.ts";
import { tinyModelWorkspace, writePipeline } from "../support/workspace.ts";

// Captions as the `captions` world writes them; they share words, so token-embedding rows get
// contributions from several rows and both sides of the loss.
const CAPTIONS = [
  "a sketch of a small red star on stripes",
  "a photo of a large blue circle on a plain background",
  "an outline of a green square on dots",
  "a small yellow star on a red background",
];
const N = CAPTIONS.length;
const TOLERANCE = 1e-4;
const TOKENS = "text_model.embeddings.token_embedding.weight";
const FIXTURE = join("test", "fixtures", "lower", "clip_pretrain_step_reference.json");
const SCRIPT = join("bench", "ref", "clip_pretrain_step_reference.py");

interface Fixture extends StepFixture {
  ids: Dumped;
  tokens: number[];
}

// The data block only has to name a folder: the step reads no data (the batch is fixed below).
const workspace = tinyModelWorkspace("vlmp-pretrain-step-", "captions");
const { world } = workspace;
const specFile = writePipeline(workspace, "pretrain_step", {
  uses: ["adapters.full", "losses", "optim.{sgd}", "data.{synthetic, synthetic_classes}"],
  seed: 0,
  body: `  data {
    classes = synthetic_classes(world: captions, root: ${JSON.stringify(world)}, part: all)
    train = synthetic(world: captions, root: ${JSON.stringify(world)}, part: "train")
  }
  adapt full()
${oneStepTrain("losses.clip_pairs(caption_logits)", N)}`,
});

/** The vlmp step, with every parameter's key and the reference's inputs. */
function pretrainStep() {
  const step = vlmpStep(specFile, {
    seed: 0,
    // `classes` and `prompts` are the class prompts' sizes, which captions replace (C = N, P = 1).
    sizes: { batch: N, classes: 7, prompts: 3, captions: true },
    text: (backbone) => captionPrompts(backbone.checkpoint.tokenizer, CAPTIONS, { padId: backbone.padId }),
  });
  const ids = promptRows(step.text.ids, N);
  const inputs = new Map<string, Tensor>([
    ["pixels", step.pixels],
    ["ids", ids],
  ]);
  return { ...step, ids, keys: step.params.all.map((p) => p.key), inputs };
}

const vlmp = pretrainStep();
const reference = stepReference(SCRIPT, workspace, {
  what: "the pre-training step reference rerun",
  tensors: new Map([...vlmp.weights, ...vlmp.inputs]),
});

/** The rows `tokens` of a [vocab, width] table. */
function rows(table: Float64Array, tokens: readonly number[], width: number): Float64Array {
  const out = new Float64Array(tokens.length * width);
  tokens.forEach((t, i) => {
    out.set(table.subarray(t * width, (t + 1) * width), i * width);
  });
  return out;
}

describe("one contrastive pre-training step on the tiny checkpoint against PyTorch (float64)", () => {
  const fixture = reference.fixture<Fixture>(FIXTURE);

  it("uses the committed checkpoint and tokenises the captions as the fixture's ids", () => {
    expectChecksum(vlmp.weights, fixture);
    expect(fixture.ids.shape).toEqual(vlmp.ids.shape);
    expectClose(vlmp.ids.data, fixture.ids.data, 0);
  });

  it("differentiates every parameter of the backbone (adapters.full)", () => {
    expect([...vlmp.params.trainable].sort()).toEqual([...vlmp.keys].sort());
    expect([...vlmp.grads.keys()].sort()).toEqual([...vlmp.keys].sort());
    for (const key of Object.keys(fixture.grads)) expect(vlmp.grads.has(key)).toBe(true);
  });

  it("gives the token embedding a gradient only in the captions' rows", () => {
    const table = vlmp.grads.get(TOKENS)!;
    const width = fixture.grads[TOKENS]!.shape[1]!;
    const used = new Set(fixture.tokens);
    let outside = 0;
    for (let t = 0; t < table.length / width; t++) {
      if (used.has(t)) continue;
      for (let j = 0; j < width; j++) outside = Math.max(outside, Math.abs(table[t * width + j]!));
    }
    expect(outside).toBe(0);
  });

  it(`matches the loss and the gradients at ${TOLERANCE} relative`, () => {
    expectStepMatches(vlmp, fixture, TOLERANCE, (key, got, want) =>
      key === TOKENS ? rows(got, fixture.tokens, want.shape[1]!) : got,
    );
  });

  it.skipIf(reference.reason !== "")("the reference script reproduces the committed fixture", () => {
    const again = reference.rerun<Fixture>();
    expectSameStep(again, fixture);
    expect(again.tokens).toEqual(fixture.tokens);
    expectClose(again.ids.data, fixture.ids.data, 0);
  });
});
