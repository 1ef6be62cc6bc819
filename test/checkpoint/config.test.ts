// config.json of the three released CLIP models (fixtures written from the public HF configs), their
// layouts through stdlib/clip.vlmp, and config errors naming the field.

import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  ConfigError,
  clipModelArgs,
  loadClipConfig,
  parseClipConfig,
  unsupportedConfigFeatures,
} from "../../runtime/checkpoint/config.ts";
import { clipModelLayout, stdlibClipLayout } from "../../runtime/checkpoint/layout.ts";

const FIXTURES = path.join(import.meta.dirname, "../fixtures/clip/configs");
const fixture = (name: string) => path.join(FIXTURES, `${name}.json`);

const RELEASED = [
  {
    file: "clip-vit-base-patch32",
    model: "vit_b32",
    vision: { hiddenSize: 768, layers: 12, heads: 12, patchSize: 32, imageSize: 224, intermediateSize: 3072 },
    text: {
      hiddenSize: 512,
      layers: 12,
      heads: 8,
      vocabSize: 49408,
      maxPositions: 77,
      intermediateSize: 2048,
    },
    projectionDim: 512,
    tokens: 50,
  },
  {
    file: "clip-vit-base-patch16",
    model: "vit_b16",
    vision: { hiddenSize: 768, layers: 12, heads: 12, patchSize: 16, imageSize: 224, intermediateSize: 3072 },
    text: {
      hiddenSize: 512,
      layers: 12,
      heads: 8,
      vocabSize: 49408,
      maxPositions: 77,
      intermediateSize: 2048,
    },
    projectionDim: 512,
    tokens: 197,
  },
  {
    file: "clip-vit-large-patch14",
    model: "vit_l14",
    vision: {
      hiddenSize: 1024,
      layers: 24,
      heads: 16,
      patchSize: 14,
      imageSize: 224,
      intermediateSize: 4096,
    },
    text: {
      hiddenSize: 768,
      layers: 12,
      heads: 12,
      vocabSize: 49408,
      maxPositions: 77,
      intermediateSize: 3072,
    },
    projectionDim: 768,
    tokens: 257,
  },
];

describe("released configs", () => {
  it.each(RELEASED)("$file loads from its own config.json", (r) => {
    const config = loadClipConfig(fixture(r.file));
    expect(config.vision).toMatchObject({
      ...r.vision,
      hiddenAct: "quick_gelu",
      layerNormEps: 1e-5,
      channels: 3,
    });
    expect(config.text).toMatchObject({ ...r.text, hiddenAct: "quick_gelu", layerNormEps: 1e-5 });
    expect(config.projectionDim).toBe(r.projectionDim);
    expect(config.logitScaleInit).toBeCloseTo(2.6592);
    expect(unsupportedConfigFeatures(config)).toEqual([]);
  });

  it.each(RELEASED)("$file: the config's layout is exactly clip.$model's", (r) => {
    const config = loadClipConfig(fixture(r.file));
    const own = clipModelLayout(clipModelArgs(config));
    const named = stdlibClipLayout(r.model);
    expect([...own]).toEqual([...named]);
    expect(own.get("vision_model.embeddings.position_embedding.weight")).toEqual([
      r.tokens,
      r.vision.hiddenSize,
    ]);
    // 16 tensors per encoder layer; 5 embeddings, 3 LayerNorms × 2, 2 projections, logit_scale.
    expect(own.size).toBe(16 * (r.vision.layers + r.text.layers) + 5 + 6 + 2 + 1);
  });

  it("a folder path reads its config.json", () => {
    expect(() => loadClipConfig(FIXTURES)).toThrow(/configs\/config\.json: cannot read/);
  });
});

describe("config errors name the file and the field", () => {
  interface Raw {
    [key: string]: unknown;
    text_config?: Record<string, unknown>;
    vision_config?: Record<string, unknown>;
  }
  const b32 = JSON.parse(readFileSync(fixture("clip-vit-base-patch32"), "utf8")) as Raw;
  const variant = (edit: (c: Raw) => void) => {
    const c = structuredClone(b32);
    edit(c);
    return c;
  };
  const cases: [string, Raw, RegExp][] = [
    ["no vision_config", variant((c) => delete c.vision_config), /vision_config: missing/],
    [
      "no patch size",
      variant((c) => delete c.vision_config!.patch_size),
      /vision_config\.patch_size: missing/,
    ],
    [
      "no text layers",
      variant((c) => delete c.text_config!.num_hidden_layers),
      /text_config\.num_hidden_layers: missing/,
    ],
    ["no vocab size", variant((c) => delete c.text_config!.vocab_size), /text_config\.vocab_size: missing/],
    [
      "no max positions",
      variant((c) => delete c.text_config!.max_position_embeddings),
      /text_config\.max_position_embeddings: missing/,
    ],
    [
      "no activation",
      variant((c) => delete c.vision_config!.hidden_act),
      /vision_config\.hidden_act: missing/,
    ],
    ["no eps", variant((c) => delete c.text_config!.layer_norm_eps), /text_config\.layer_norm_eps: missing/],
    [
      "no projection dim anywhere",
      variant((c) => {
        delete c.projection_dim;
        delete c.text_config!.projection_dim;
      }),
      /projection_dim: missing/,
    ],
    [
      "a width as a string",
      variant((c) => (c.vision_config!.hidden_size = "768")),
      /hidden_size: expected a positive integer/,
    ],
    ["heads not dividing", variant((c) => (c.text_config!.num_attention_heads = 7)), /7 heads do not divide/],
    ["patch not dividing", variant((c) => (c.vision_config!.patch_size = 30)), /patch 30 does not divide/],
    ["another model type", variant((c) => (c.model_type = "siglip")), /model_type: expected "clip"/],
  ];
  it.each(cases)("%s", (_what, raw, message) => {
    expect(() => parseClipConfig(raw, "ckpt/config.json")).toThrow(ConfigError);
    expect(() => parseClipConfig(raw, "ckpt/config.json")).toThrow(message);
    expect(() => parseClipConfig(raw, "ckpt/config.json")).toThrow(/^ckpt\/config\.json: /);
  });

  it("the _dict sub-configs take precedence, as in HF's CLIPConfig", () => {
    const c = variant((x) => (x.vision_config_dict = { patch_size: 16 }));
    expect(parseClipConfig(c).vision.patchSize).toBe(16);
  });

  it("features the stdlib towers do not have are reported", () => {
    const c = parseClipConfig(
      variant((x) => {
        x.text_config!.hidden_act = "gelu";
        x.vision_config!.intermediate_size = 1000;
      }),
    );
    expect(unsupportedConfigFeatures(c)).toEqual([
      "vision_config.intermediate_size is 1000; clip.vlmp's MLP is 4 × hidden_size = 3072",
      'text_config.hidden_act is "gelu"; clip.vlmp\'s towers use quick_gelu',
    ]);
  });
});
