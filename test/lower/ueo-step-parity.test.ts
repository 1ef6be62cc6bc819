// Issue 8 (parity): one UEO training step on the tiny checkpoint (`vlmp model make-tiny`, seed 0) for a
// fixed batch (4 images, 3 classes, fixed per-sample weights), built as `vlmp run` builds it
// (runtime/engine/train.ts buildStepGraph: lowerModel with the `prompt` + `affine` adapters of a
// quickstart-like spec → losses.ueo → gradients()) and run in the reference interpreter, against
// PyTorch in float64 (bench/ref/ueo_step_reference.py, clip_reference.py's forward with the CoOp prompt):
// the loss and the gradients of the prompt context and of every visual LayerNorm weight and bias at 1e-4
// relative (float64 on both sides: ~1e-12 in practice). Where torch is importable by /usr/bin/python3 the
// script is rerun into a temp folder and must reproduce the committed fixture.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { promptTensors } from "../../runtime/engine/evaluate.ts";
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

const N = 4;
const CLASSES = ["circle", "square", "star"];
const W = Float64Array.of(0.41, 0.36, 0.58, 0.37);
const LAMBDA = 1;
const TOLERANCE = 1e-4;
const FIXTURE = join("test", "fixtures", "lower", "ueo_step_reference.json");
const SCRIPT = join("bench", "ref", "ueo_step_reference.py");

interface Fixture extends StepFixture {
  ctx: Dumped;
}

// The data block only has to name a folder: the step reads no data (the batch is fixed below).
const workspace = tinyModelWorkspace("vlmp-ueo-step-", "ueo");
const { world } = workspace;
const specFile = writePipeline(workspace, "ueo_step", {
  uses: ["adapters.{prompt, affine}", "losses", "optim.{sgd}", "data.{synthetic, synthetic_classes}"],
  seed: 2023,
  body: `  ueo {
    weights = zeroShotMSP
    lambda = ${LAMBDA}
  }
  data {
    classes = synthetic_classes(world: ueo, root: ${JSON.stringify(world)}, part: known)
    train = synthetic(world: ueo, root: ${JSON.stringify(world)}, part: "train", shift: oda, labels: hidden)
  }
  adapt prompt(context: 4, init: "a photo of a", class_position: end)
  adapt affine(sites: visual.layernorms)
  constants {
    on = data.train
    weights = losses.ueo_weights(cosines, labels, mode: ueo.weights, temperature: ueo.weightTemperature)
  }
${oneStepTrain("losses.ueo(logits, weights, lambda: ueo.lambda)", N)}`,
});

/** The vlmp step, with the prompt context's initial value and the reference's inputs. */
function ueoStep() {
  const step = vlmpStep(specFile, {
    seed: 2023,
    sizes: { batch: N, classes: CLASSES.length, prompts: 1 },
    text: (backbone, adapters) => promptTensors({ adapters, templates: [], backbone }, CLASSES),
    inputs: { "constants.weights": { shape: [N], data: W } },
  });
  const inputs = new Map<string, Tensor>([
    ["pixels", step.pixels],
    ["ids", promptRows(step.text.ids, CLASSES.length)],
    ["slots", promptRows(step.text.slots, CLASSES.length)],
    ["w", { shape: [N], data: W }],
  ]);
  return { ...step, ctx: step.params.values.get("adapters.prompt.ctx")!, inputs };
}

const vlmp = ueoStep();
const reference = stepReference(SCRIPT, workspace, {
  what: "the UEO step reference rerun",
  extra: { context: 4, lambda: LAMBDA },
  tensors: new Map([...vlmp.weights, ...vlmp.inputs]),
});

describe("one UEO step on the tiny checkpoint against PyTorch (float64)", () => {
  const fixture = reference.fixture<Fixture>(FIXTURE);

  it("uses the committed checkpoint and the zero-shot context", () => {
    expectChecksum(vlmp.weights, fixture);
    // The context starts as the token embeddings of "a photo of a" on both sides.
    expect(fixture.ctx.shape).toEqual([...vlmp.ctx.shape]);
    expectClose(vlmp.ctx.data, fixture.ctx.data, 0);
  });

  it("differentiates the prompt context and every visual LayerNorm weight and bias, nothing else", () => {
    const keys = Object.keys(fixture.grads).sort();
    expect([...vlmp.grads.keys()].sort()).toEqual(keys);
    expect([...vlmp.params.trainable].sort()).toEqual(keys);
    // pre_layrnorm, layer_norm1/2 of 2 layers, post_layernorm: weight and bias each; and the context.
    expect(keys.length).toBe(1 + 2 * (2 + 2 * 2));
  });

  it(`matches the loss and the gradients at ${TOLERANCE} relative`, () => {
    expectStepMatches(vlmp, fixture, TOLERANCE);
  });

  it.skipIf(reference.reason !== "")("the reference script reproduces the committed fixture", () => {
    const again = reference.rerun<Fixture>();
    expectSameStep(again, fixture);
    expectClose(again.ctx.data, fixture.ctx.data, 0);
  });
});
