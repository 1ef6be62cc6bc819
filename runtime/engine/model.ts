// The backbone as the engine runs it: the checkpoint its `weights` names, loaded and checked against the
// configuration the spec calls (`clip.tiny` → the `tiny` layout); the forward lowered from the stdlib with
// the pipeline's adapters and split (split.ts) into a text graph run once per class list and an image graph
// run per batch; parameters fed from the checkpoint by key.

import type { Graph, ValueId } from "../../compiler/graph/graph.ts";
import type { PipelineIr } from "../../compiler/ir.ts";
import { LoweringError } from "../../compiler/lower/errors.ts";
import { modelForwardGraph } from "../../compiler/lower/model.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "../../compiler/values.ts";
import { CheckpointError, type ClipCheckpoint, loadClipCheckpoint } from "../checkpoint/index.ts";
import { type Feed, markImmutable, numel, type Tensor } from "../reference/tensor.ts";
import { RunError } from "./errors.ts";
import { cutGraph, graphFeeds } from "./split.ts";

const CONFIGURATIONS = new Set(["tiny", "vit_b32", "vit_b16", "vit_l14"]);

export interface Backbone {
  readonly call: JsonValue;
  readonly checkpoint: ClipCheckpoint;
  /** The pad id of the prompts (the configuration's `pad` argument). */
  readonly padId: number;
  /** Token sequence length of the text tower (the checkpoint's max_position_embeddings). */
  readonly context: number;
}

export function loadBackbone(ir: PipelineIr): Backbone {
  const call = ir.root.settings["backbone"];
  if (!isJsonObject(call) || !("$call" in call))
    throw new RunError(`pipeline '${ir.pipeline}' has no backbone`);
  const args = (call["args"] ?? {}) as JsonObject;
  const weights = args["weights"];
  if (typeof weights !== "string")
    throw new RunError(`the backbone ${String(call["$call"])} names no weights`);
  const name = String(call["$call"]).split(".").pop()!;
  try {
    // The integer arguments that size the configuration (`pad` is an id, not a size).
    const sizes = Object.fromEntries(
      Object.entries(args).filter((e): e is [string, number] => typeof e[1] === "number" && e[0] !== "pad"),
    );
    const checkpoint = loadClipCheckpoint(weights, CONFIGURATIONS.has(name) ? { model: name, sizes } : {});
    return {
      call,
      checkpoint,
      padId: typeof args["pad"] === "number" ? args["pad"] : 0,
      context: checkpoint.config.text.maxPositions,
    };
  } catch (error) {
    if (error instanceof CheckpointError)
      throw new RunError(`cannot load the backbone's weights: ${error.message}`);
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new RunError(`cannot load the backbone's weights: ${(error as Error).message}`);
    }
    throw error;
  }
}

export interface SplitForward {
  /** Inputs ids, slots → outputs text_features [C, E] (and template_features). */
  readonly text: Graph;
  /**
   * Inputs pixels [B, 3, S, S] (or, `fromFeatures`, image_features [B, E]) and text_features → the
   * requested sites.
   */
  readonly image: Graph;
  readonly imageSize: number;
  /** Ids of the image graph's inputs (`text_features` only where a requested site reads it). */
  readonly pixels: ValueId;
  readonly imageFeaturesIn: ValueId;
  readonly textFeaturesIn: ValueId;
  /** Whether the image graph reads the text features. */
  readonly readsText: boolean;
  /** Output ids of the image graph by site name. */
  readonly imageOutputs: ReadonlyMap<string, ValueId>;
  readonly textFeaturesOut: ValueId;
  readonly textInputs: { readonly ids: ValueId; readonly slots: ValueId };
}

function forward(
  ir: PipelineIr,
  backbone: Backbone,
  adapters: readonly JsonValue[],
  dims: Record<string, number>,
) {
  try {
    return modelForwardGraph(ir, backbone.call, { adapters, dims: new Map(Object.entries(dims)) });
  } catch (error) {
    if (error instanceof LoweringError) throw new RunError(`cannot lower the backbone: ${error.message}`);
    throw error;
  }
}

/**
 * The text graph for `textClasses` classes per run and the image graph for batches of `batch` over `classes`
 * classes, with `sites` (logits, cosines, image_features) as the image graph's outputs. `fromFeatures`: the
 * image graph starts at `image_features` (cached features, `features(file)`) instead of the pixels.
 */
export function splitForward(
  ir: PipelineIr,
  backbone: Backbone,
  adapters: readonly JsonValue[],
  sizes: { batch: number; classes: number; textClasses: number; templates: number },
  sites: readonly string[],
  fromFeatures = false,
): SplitForward {
  const textFwd = forward(ir, backbone, adapters, { B: 1, C: sizes.textClasses, P: sizes.templates });
  const textFeatures = textFwd.lowering.sites.get("text_features");
  if (!textFeatures) throw new RunError("the backbone has no text_features site");
  const text = cutGraph(textFwd.graph, new Map([["text_features", textFeatures.id]]));

  const imageFwd = forward(ir, backbone, adapters, { B: sizes.batch, C: sizes.classes, P: sizes.templates });
  const tf = imageFwd.lowering.sites.get("text_features")!;
  const outputs = new Map<string, ValueId>();
  for (const s of sites) {
    const v = imageFwd.lowering.sites.get(s);
    if (!v)
      throw new RunError(
        `the backbone has no site '${s}' (sites: ${[...imageFwd.lowering.sites.keys()].join(", ")})`,
      );
    outputs.set(s, v.id);
  }
  const imageFeatures = imageFwd.lowering.sites.get("image_features");
  if (!imageFeatures) throw new RunError("the backbone has no image_features site");
  const cuts = new Map([[tf.id, "text_features"]]);
  if (fromFeatures) {
    checkFeaturesSuffice(imageFwd.graph, imageFeatures.id, backbone);
    cuts.set(imageFeatures.id, "image_features");
  }
  const image = cutGraph(imageFwd.graph, outputs, cuts);
  const pixels = imageFwd.inputs.get("pixels")!;
  const imageInputs = graphFeeds(image).inputs;
  if (fromFeatures && imageInputs.has("pixels")) {
    throw new RunError(
      `the outputs (${sites.join(", ")}) need the image tower before image_features (an adapter or a site such as pooled reads it), so cached features cannot stand in for the images; evaluate on the images`,
    );
  }
  return {
    text,
    image,
    imageSize: pixels.shape[2]!,
    pixels: pixels.id,
    imageFeaturesIn: imageFeatures.id,
    textFeaturesIn: tf.id,
    readsText: imageInputs.has("text_features"),
    imageOutputs: outputs,
    textFeaturesOut: textFeatures.id,
    textInputs: { ids: textFwd.inputs.get("ids")!.id, slots: textFwd.inputs.get("slots")!.id },
  };
}

/**
 * Cached features hold the frozen backbone's image_features: the pipeline's must be the same values, so
 * nothing upstream of them may be an adapter's input or parameter, or a parameter the pipeline trains.
 */
function checkFeaturesSuffice(graph: Graph, imageFeatures: ValueId, backbone: Backbone): void {
  const upstream = new Set<ValueId>([imageFeatures]);
  const refuse = (what: string) => {
    throw new RunError(
      `${what} changes the image features, so features cached from the backbone cannot stand in for the images; evaluate on the images`,
    );
  };
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i]!;
    if (!upstream.has(n.id)) continue;
    for (const x of n.inputs) upstream.add(x);
    if (n.op === "input" && n.attrs.name !== "pixels") refuse(`the value '${n.attrs.name}' an adapter reads`);
    if (n.op === "param" && (n.attrs.trainable || !backbone.checkpoint.weights.tensors.has(n.attrs.name)))
      refuse(`the parameter '${n.attrs.name}' (an adapter's, or trained)`);
  }
}

/**
 * Per checkpoint, the weights evaluations, training's frozen backbone and `vlmp embed` have read, at f32
 * (the file's precision; a ViT-B/32's are 600 MB so, 1.2 GB as f64), one copy of each.
 */
const f32Weights = new WeakMap<ClipCheckpoint, Map<string, Feed>>();

/**
 * The checkpoint's tensor `key`, shaped as the graph declares it: the element counts must agree (CLIP's
 * `logit_scale` is 0-d in the file and [1] in the language).
 */
function checkpointWeight(checkpoint: ClipCheckpoint, key: string, shape: readonly number[]): Feed {
  const { weights } = checkpoint;
  if (!weights.tensors.has(key))
    throw new RunError(`the parameter '${key}' is not in the checkpoint and has no initial value yet`);
  const stored = weights.info(key).shape;
  if (numel(stored) !== numel(shape)) {
    throw new RunError(
      `${weights.file}: tensor ${JSON.stringify(key)} is [${stored.join(", ")}]; the backbone reads [${shape.join(", ")}]`,
    );
  }
  return markImmutable({ shape: [...shape], data: weights.read(key) });
}

/**
 * Feeds for every param of `graph` as evaluation, training and `vlmp embed` run it: the cache's tensor
 * where it holds the key (initialised or trained params, f64, which training writes in place), else the
 * checkpoint's weight at f32, read once per checkpoint and immutable, so the device keeps it across
 * batches. A param the graph holds at f16 (`precision = f16`) is fed the same f32 array: the executor
 * converts it as it uploads, the reference interpreter rounds it.
 */
export function evaluationFeeds(
  graph: Graph,
  checkpoint: ClipCheckpoint,
  cache: ReadonlyMap<string, Tensor> = new Map(),
): Map<ValueId, Feed> {
  let held = f32Weights.get(checkpoint);
  if (!held) f32Weights.set(checkpoint, (held = new Map()));
  const feeds = new Map<ValueId, Feed>();
  for (const [key, node] of graphFeeds(graph).params) {
    let t: Feed | undefined = cache.get(key) ?? held.get(key);
    if (!t) {
      t = checkpointWeight(checkpoint, key, node.shape);
      held.set(key, t);
    }
    feeds.set(node.id, t);
  }
  return feeds;
}
