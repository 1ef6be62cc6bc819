// A tiny random CLIP in the real HuggingFace layout, for tests: `config.json` (CLIPConfig), `model.safetensors`
// with every key of HF's CLIPModel in HF's shapes, the real tokenizer files (the full 49408-symbol vocabulary
// from the bundled merge list), `tokenizer_config.json`, `special_tokens_map.json`, `preprocessor_config.json`
// and a model card. The sizes are `clip.tiny`'s in stdlib/clip.vlmp. Deterministic for a seed: each tensor
// draws from its own stream (seeded from the seed and the tensor's key), initialised as HF's CLIPModel
// `_init_weights` does (normal, small std), except LayerNorms and biases, which get small random values so
// that parity tests see them (`init: "test"`, the default); `init: "clip"` keeps the same normal draws but
// starts LayerNorms at 1 and 0, biases at 0 and logit_scale at ln(1/0.07), as CLIP does: the start of
// contrastive pre-training. (The normal stds follow OpenAI CLIP's text position std 0.01 and put the larger
// MLP std on fc2; HF's `_init_weights` differs there in detail.)
//
// The key list here is written from HF's modeling_clip independently of the stdlib; the tests check that
// it equals what `clip.tiny` declares.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadBpeSimpleVocab } from "../tokenizer/vocab.ts";
import { type TensorToWrite, writeSafetensors } from "./safetensors.ts";
import { writeHfTokenizerConfig, writeHfVocabFiles } from "./vocab-files.ts";

/** HF CLIPConfig fields that size the model. */
export interface ClipDims {
  imageSize: number;
  patchSize: number;
  visionWidth: number;
  visionLayers: number;
  visionHeads: number;
  textWidth: number;
  textLayers: number;
  textHeads: number;
  projectionDim: number;
  maxPositions: number;
  vocabSize: number;
}

/** `clip.tiny` in stdlib/clip.vlmp: 32 px, patches of 8, 2 × 64 with 4 heads per tower, joint 32. */
export const TINY_DIMS: ClipDims = {
  imageSize: 32,
  patchSize: 8,
  visionWidth: 64,
  visionLayers: 2,
  visionHeads: 4,
  textWidth: 64,
  textLayers: 2,
  textHeads: 4,
  projectionDim: 32,
  maxPositions: 77,
  vocabSize: 49408,
};

/** ln(100): released CLIP models' trained logit scale (logits = 100 · cosines). */
export const LOGIT_SCALE = Math.log(100);

/** ln(1/0.07): CLIP's initial logit scale (HF `logit_scale_init_value` 2.6592). */
export const INITIAL_LOGIT_SCALE = Math.log(1 / 0.07);

/** `test`: random LayerNorms and biases and logit scale ln 100 (parity tests see every parameter);
 * `clip`: LayerNorms 1 and 0, biases 0, logit_scale ln(1/0.07), the start of pre-training. */
export type TinyInit = "test" | "clip";

type Init = { kind: "normal"; std: number; mean?: number } | { kind: "fill"; value: number };

interface TensorSpec {
  key: string;
  shape: number[];
  init: Init;
}

/** Every tensor of HF's CLIPModel for these sizes, with CLIP's initialisation. */
export function hfClipTensors(d: ClipDims, mode: TinyInit = "test"): TensorSpec[] {
  const specs: TensorSpec[] = [];
  const clip = mode === "clip";
  const add = (key: string, shape: number[], init: Init) => specs.push({ key, shape, init });
  const bias = (key: string, shape: number[]) =>
    add(key, shape, clip ? { kind: "fill", value: 0 } : { kind: "normal", std: 0.02 });
  const layerNorm = (prefix: string, width: number) => {
    add(
      `${prefix}.weight`,
      [width],
      clip ? { kind: "fill", value: 1 } : { kind: "normal", mean: 1, std: 0.1 },
    );
    add(`${prefix}.bias`, [width], clip ? { kind: "fill", value: 0 } : { kind: "normal", std: 0.1 });
  };
  const encoder = (prefix: string, width: number, layers: number) => {
    const inStd = width ** -0.5 * (2 * layers) ** -0.5;
    const outStd = width ** -0.5;
    const fc2Std = (2 * width) ** -0.5;
    for (let i = 0; i < layers; i++) {
      const p = `${prefix}.encoder.layers.${i}`;
      for (const proj of ["k_proj", "v_proj", "q_proj", "out_proj"]) {
        add(`${p}.self_attn.${proj}.weight`, [width, width], {
          kind: "normal",
          std: proj === "out_proj" ? outStd : inStd,
        });
        bias(`${p}.self_attn.${proj}.bias`, [width]);
      }
      layerNorm(`${p}.layer_norm1`, width);
      add(`${p}.mlp.fc1.weight`, [4 * width, width], { kind: "normal", std: inStd });
      bias(`${p}.mlp.fc1.bias`, [4 * width]);
      add(`${p}.mlp.fc2.weight`, [width, 4 * width], { kind: "normal", std: fc2Std });
      bias(`${p}.mlp.fc2.bias`, [width]);
      layerNorm(`${p}.layer_norm2`, width);
    }
  };
  const v = d.visionWidth;
  const grid = d.imageSize / d.patchSize;
  add("text_model.embeddings.token_embedding.weight", [d.vocabSize, d.textWidth], {
    kind: "normal",
    std: 0.02,
  });
  add("text_model.embeddings.position_embedding.weight", [d.maxPositions, d.textWidth], {
    kind: "normal",
    std: 0.01,
  });
  encoder("text_model", d.textWidth, d.textLayers);
  layerNorm("text_model.final_layer_norm", d.textWidth);
  add("vision_model.embeddings.class_embedding", [v], { kind: "normal", std: v ** -0.5 });
  add("vision_model.embeddings.patch_embedding.weight", [v, 3, d.patchSize, d.patchSize], {
    kind: "normal",
    std: 0.02,
  });
  add("vision_model.embeddings.position_embedding.weight", [grid * grid + 1, v], {
    kind: "normal",
    std: 0.02,
  });
  layerNorm("vision_model.pre_layrnorm", v);
  encoder("vision_model", v, d.visionLayers);
  layerNorm("vision_model.post_layernorm", v);
  add("visual_projection.weight", [d.projectionDim, v], { kind: "normal", std: v ** -0.5 });
  add("text_projection.weight", [d.projectionDim, d.textWidth], { kind: "normal", std: d.textWidth ** -0.5 });
  add("logit_scale", [], { kind: "fill", value: clip ? INITIAL_LOGIT_SCALE : LOGIT_SCALE });
  return specs;
}

// --- a small seeded generator: sfc32 seeded by FNV-1a of `seed:key`, Box–Muller normals --------------------

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A deterministic uniform generator on [0, 1) (sfc32, 2^-32 resolution). */
export function seededUniform(seed: number, stream: string): () => number {
  let a = fnv1a(`${seed}:${stream}:a`);
  let b = fnv1a(`${seed}:${stream}:b`);
  let c = fnv1a(`${seed}:${stream}:c`);
  let counter = 1;
  const next = (): number => {
    const t = (((a + b) | 0) + counter) | 0;
    counter = (counter + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

function fillTensor(spec: TensorSpec, seed: number): Float32Array {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(size);
  if (spec.init.kind === "fill") return out.fill(spec.init.value);
  const { std, mean = 0 } = spec.init;
  const uniform = seededUniform(seed, spec.key);
  for (let i = 0; i < size; i += 2) {
    const u1 = 1 - uniform(); // (0, 1]
    const u2 = uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = mean + std * r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < size) out[i + 1] = mean + std * r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** HF's config.json for these sizes (CLIPConfig, keys sorted as `save_pretrained` writes them). */
export function hfClipConfig(d: ClipDims): Record<string, unknown> {
  const common = {
    hidden_act: "quick_gelu",
    initializer_factor: 1.0,
    initializer_range: 0.02,
    layer_norm_eps: 1e-5,
  };
  return {
    architectures: ["CLIPModel"],
    initializer_factor: 1.0,
    logit_scale_init_value: 2.6592,
    model_type: "clip",
    projection_dim: d.projectionDim,
    text_config: sortKeys({
      ...common,
      attention_dropout: 0.0,
      bos_token_id: 49406,
      dropout: 0.0,
      eos_token_id: 49407,
      hidden_size: d.textWidth,
      intermediate_size: 4 * d.textWidth,
      max_position_embeddings: d.maxPositions,
      model_type: "clip_text_model",
      num_attention_heads: d.textHeads,
      num_hidden_layers: d.textLayers,
      pad_token_id: 1,
      projection_dim: d.projectionDim,
      vocab_size: d.vocabSize,
    }),
    torch_dtype: "float32",
    transformers_version: "4.40.0",
    vision_config: sortKeys({
      ...common,
      attention_dropout: 0.0,
      dropout: 0.0,
      hidden_size: d.visionWidth,
      image_size: d.imageSize,
      intermediate_size: 4 * d.visionWidth,
      model_type: "clip_vision_model",
      num_attention_heads: d.visionHeads,
      num_channels: 3,
      num_hidden_layers: d.visionLayers,
      patch_size: d.patchSize,
      projection_dim: d.projectionDim,
    }),
  };
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** HF's CLIPImageProcessor settings for CLIP's preprocessing at this image size. */
function preprocessorConfig(d: ClipDims): Record<string, unknown> {
  return {
    crop_size: { height: d.imageSize, width: d.imageSize },
    do_center_crop: true,
    do_convert_rgb: true,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: [0.48145466, 0.4578275, 0.40821073],
    image_processor_type: "CLIPImageProcessor",
    image_std: [0.26862954, 0.26130258, 0.27577711],
    resample: 3,
    rescale_factor: 0.00392156862745098,
    size: { shortest_edge: d.imageSize },
  };
}

function modelCard(d: ClipDims, seed: number, mode: TinyInit): string {
  const init =
    mode === "clip"
      ? `Initialisation as CLIP's (normal weights with small std; LayerNorms 1 and 0, biases 0, logit_scale
ln(1/0.07)): the starting point of \`pipelines/quickstart/pretrain.vlmp\`.`
      : `Initialisation as HF's \`CLIPModel._init_weights\` (normal with small std), except that LayerNorm weights
are 1 + N(0, 0.1²) and biases small normals, so that parity tests exercise them.`;
  return `---
license: mit
library_name: transformers
tags:
  - clip
  - random-weights
  - test-fixture
---

# tiny random CLIP (seed ${seed})

Generated by \`vlmp model make-tiny --seed ${seed}${mode === "clip" ? " --init clip" : ""}${sizeFlags(d)}\`: random weights in the HuggingFace CLIPModel layout,
for tests only — it has learned nothing. Same seed, same bytes.

- vision: ${d.imageSize} px images, ${d.patchSize} px patches (${(d.imageSize / d.patchSize) ** 2 + 1} tokens), ${d.visionLayers} layers × ${d.visionWidth} wide, ${d.visionHeads} heads
- text: ${d.maxPositions} tokens, ${d.textLayers} layers × ${d.textWidth} wide, ${d.textHeads} heads, CLIP's full ${d.vocabSize}-symbol vocabulary
- joint embedding: ${d.projectionDim}; logit_scale ${mode === "clip" ? "ln(1/0.07)" : "ln(100)"}; QuickGELU; LayerNorm eps 1e-5
- the sizes of \`clip.tiny${tinyArgs(d)}\` in vlmp's stdlib/clip.vlmp

${init}

The tokenizer files (vocab.json, merges.txt) are CLIP's, derived from \`bpe_simple_vocab_16e6.txt.gz\`
(MIT License, Copyright (c) 2021 OpenAI).
`;
}

/** `d`'s sizes that differ from clip.tiny's defaults, by argument name (`patch`, `context`; also the flags). */
function changedSizes(d: ClipDims): [string, number][] {
  const sizes: [string, number, number][] = [
    ["patch", d.patchSize, TINY_DIMS.patchSize],
    ["context", d.maxPositions, TINY_DIMS.maxPositions],
  ];
  return sizes.filter(([, v, base]) => v !== base).map(([name, v]) => [name, v]);
}

/** The make-tiny flags that give `d`'s sizes: " --patch 4 --context 16". */
function sizeFlags(d: ClipDims): string {
  return changedSizes(d)
    .map(([name, v]) => ` --${name} ${v}`)
    .join("");
}

/** `clip.tiny`'s size arguments for `d`: "(weights: …, patch: 4, context: 16)", or "" at the defaults. */
function tinyArgs(d: ClipDims): string {
  const args = changedSizes(d)
    .map(([name, v]) => `, ${name}: ${v}`)
    .join("");
  return args === "" ? "" : `(weights: …${args})`;
}

/** Writes the checkpoint folder; returns the files written. */
export function makeTinyClip(
  outDir: string,
  seed = 0,
  dims: ClipDims = TINY_DIMS,
  mode: TinyInit = "test",
): string[] {
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
  mkdirSync(outDir, { recursive: true });
  const json = (o: unknown) => JSON.stringify(o, null, 2) + "\n";
  writeFileSync(join(outDir, "config.json"), json(hfClipConfig(dims)));
  // HF's save_pretrained writes tensors sorted by name (all f32 here) with `format: pt` metadata.
  const tensors: TensorToWrite[] = hfClipTensors(dims, mode)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((spec) => ({ name: spec.key, shape: spec.shape, data: fillTensor(spec, seed) }));
  writeSafetensors(join(outDir, "model.safetensors"), tensors, { format: "pt" });
  writeHfVocabFiles(outDir, loadBpeSimpleVocab());
  writeHfTokenizerConfig(outDir, dims.maxPositions);
  writeFileSync(join(outDir, "preprocessor_config.json"), json(preprocessorConfig(dims)));
  writeFileSync(join(outDir, "README.md"), modelCard(dims, seed, mode));
  return [
    "config.json",
    "model.safetensors",
    "vocab.json",
    "merges.txt",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "preprocessor_config.json",
    "README.md",
  ].map((f) => join(outDir, f));
}
