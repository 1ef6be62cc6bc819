// A CLIP checkpoint's `config.json` in the HuggingFace layout (CLIPConfig): the vision and text towers'
// sizes, the joint projection, the activation and LayerNorm eps. Sub-configs come from `text_config` /
// `vision_config`, with `text_config_dict` / `vision_config_dict` taking precedence as in HF's CLIPConfig.
// A missing or ill-typed field is a ConfigError naming the file and the field.

import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ClipModelArgs } from "./layout.ts";

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly field: string | undefined,
    detail: string,
  ) {
    super(`${file}: ${field === undefined ? "" : `${field}: `}${detail}`);
    this.name = "ConfigError";
  }
}

export interface VisionConfig {
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  patchSize: number;
  imageSize: number;
  channels: number;
  hiddenAct: string;
  layerNormEps: number;
}

export interface TextConfig {
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  vocabSize: number;
  maxPositions: number;
  hiddenAct: string;
  layerNormEps: number;
  bosTokenId?: number;
  eosTokenId?: number;
  padTokenId?: number;
}

export interface ClipConfig {
  file: string;
  modelType: string;
  projectionDim: number;
  logitScaleInit?: number;
  vision: VisionConfig;
  text: TextConfig;
  /** The parsed JSON, as written. */
  raw: Record<string, unknown>;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Reads `config.json` from a checkpoint folder or a file path. */
export function loadClipConfig(path: string): ClipConfig {
  let file = path;
  try {
    if (statSync(path).isDirectory()) file = join(path, "config.json");
  } catch {
    // Absent: a folder unless it names a .json file; reported below as unreadable.
    if (!path.endsWith(".json")) file = join(path, "config.json");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ConfigError(file, undefined, `cannot read the model config: ${(error as Error).message}`);
  }
  return parseClipConfig(raw, file);
}

export function parseClipConfig(raw: unknown, file = "config.json"): ClipConfig {
  if (!isObject(raw)) throw new ConfigError(file, undefined, "expected a JSON object");
  const sub = (name: "text" | "vision"): Json => {
    const base = raw[`${name}_config`];
    const dict = raw[`${name}_config_dict`];
    if (base !== undefined && base !== null && !isObject(base)) {
      throw new ConfigError(file, `${name}_config`, "expected an object");
    }
    if (!isObject(base) && !isObject(dict)) {
      throw new ConfigError(
        file,
        `${name}_config`,
        "missing (a CLIP config has text_config and vision_config)",
      );
    }
    return { ...(isObject(base) ? base : {}), ...(isObject(dict) ? dict : {}) };
  };
  const text = sub("text");
  const vision = sub("vision");
  const int = (obj: Json, section: string, key: string, fallback?: number): number => {
    const v = obj[key];
    const field = section ? `${section}.${key}` : key;
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw new ConfigError(file, field, "missing");
    }
    if (!Number.isSafeInteger(v) || (v as number) <= 0) {
      throw new ConfigError(file, field, `expected a positive integer, found ${JSON.stringify(v)}`);
    }
    return v as number;
  };
  const optionalInt = (obj: Json, key: string): number | undefined =>
    Number.isSafeInteger(obj[key]) ? (obj[key] as number) : undefined;
  const num = (obj: Json, section: string, key: string): number => {
    const v = obj[key];
    if (v === undefined || v === null) throw new ConfigError(file, `${section}.${key}`, "missing");
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
      throw new ConfigError(
        file,
        `${section}.${key}`,
        `expected a positive number, found ${JSON.stringify(v)}`,
      );
    }
    return v;
  };
  const str = (obj: Json, section: string, key: string): string => {
    const v = obj[key];
    if (v === undefined || v === null) throw new ConfigError(file, `${section}.${key}`, "missing");
    if (typeof v !== "string")
      throw new ConfigError(file, `${section}.${key}`, `expected a string, found ${JSON.stringify(v)}`);
    return v;
  };
  const modelType = raw["model_type"];
  if (modelType !== undefined && modelType !== "clip") {
    throw new ConfigError(file, "model_type", `expected "clip", found ${JSON.stringify(modelType)}`);
  }
  // projection_dim lives at the top level; older configs repeat it in each sub-config.
  const projectionDim = int(raw, "", "projection_dim", optionalInt(text, "projection_dim"));
  const visionWidth = int(vision, "vision_config", "hidden_size");
  const textWidth = int(text, "text_config", "hidden_size");
  const config: ClipConfig = {
    file,
    modelType: "clip",
    projectionDim,
    vision: {
      hiddenSize: visionWidth,
      intermediateSize: int(vision, "vision_config", "intermediate_size", 4 * visionWidth),
      layers: int(vision, "vision_config", "num_hidden_layers"),
      heads: int(vision, "vision_config", "num_attention_heads"),
      patchSize: int(vision, "vision_config", "patch_size"),
      imageSize: int(vision, "vision_config", "image_size"),
      channels: int(vision, "vision_config", "num_channels", 3),
      hiddenAct: str(vision, "vision_config", "hidden_act"),
      layerNormEps: num(vision, "vision_config", "layer_norm_eps"),
    },
    text: {
      hiddenSize: textWidth,
      intermediateSize: int(text, "text_config", "intermediate_size", 4 * textWidth),
      layers: int(text, "text_config", "num_hidden_layers"),
      heads: int(text, "text_config", "num_attention_heads"),
      vocabSize: int(text, "text_config", "vocab_size"),
      maxPositions: int(text, "text_config", "max_position_embeddings"),
      hiddenAct: str(text, "text_config", "hidden_act"),
      layerNormEps: num(text, "text_config", "layer_norm_eps"),
    },
    raw,
  };
  for (const [key, prop] of [
    ["bos_token_id", "bosTokenId"],
    ["eos_token_id", "eosTokenId"],
    ["pad_token_id", "padTokenId"],
  ] as const) {
    const v = optionalInt(text, key);
    if (v !== undefined) config.text[prop] = v;
  }
  if (typeof raw["logit_scale_init_value"] === "number")
    config.logitScaleInit = raw["logit_scale_init_value"];
  for (const [section, tower] of [
    ["vision_config", config.vision],
    ["text_config", config.text],
  ] as const) {
    if (tower.hiddenSize % tower.heads !== 0) {
      throw new ConfigError(
        file,
        `${section}.num_attention_heads`,
        `${tower.heads} heads do not divide hidden_size ${tower.hiddenSize}`,
      );
    }
  }
  if (config.vision.imageSize % config.vision.patchSize !== 0) {
    throw new ConfigError(
      file,
      "vision_config.patch_size",
      `patch ${config.vision.patchSize} does not divide image_size ${config.vision.imageSize}`,
    );
  }
  return config;
}

/** The arguments of `clip.clip_model` for this config. */
export function clipModelArgs(config: ClipConfig): ClipModelArgs {
  return {
    image: config.vision.imageSize,
    patch: config.vision.patchSize,
    width: config.vision.hiddenSize,
    layers: config.vision.layers,
    heads: config.vision.heads,
    text_width: config.text.hiddenSize,
    text_layers: config.text.layers,
    text_heads: config.text.heads,
    embed: config.projectionDim,
    context: config.text.maxPositions,
    vocab: config.text.vocabSize,
  };
}

/**
 * What `stdlib/clip.vlmp`'s towers cannot run as written: an activation other than QuickGELU, an MLP other
 * than 4 × width, a LayerNorm eps other than 1e-5, other than 3 channels. Empty when the config fits.
 */
export function unsupportedConfigFeatures(config: ClipConfig): string[] {
  const problems: string[] = [];
  for (const [section, tower] of [
    ["vision_config", config.vision],
    ["text_config", config.text],
  ] as const) {
    if (tower.hiddenAct !== "quick_gelu") {
      problems.push(
        `${section}.hidden_act is ${JSON.stringify(tower.hiddenAct)}; clip.vlmp's towers use quick_gelu`,
      );
    }
    if (tower.intermediateSize !== 4 * tower.hiddenSize) {
      problems.push(
        `${section}.intermediate_size is ${tower.intermediateSize}; clip.vlmp's MLP is 4 × hidden_size = ${4 * tower.hiddenSize}`,
      );
    }
    if (Math.abs(tower.layerNormEps - 1e-5) > 1e-12) {
      problems.push(`${section}.layer_norm_eps is ${tower.layerNormEps}; clip.vlmp's towers use 1e-5`);
    }
  }
  if (config.vision.channels !== 3)
    problems.push(`vision_config.num_channels is ${config.vision.channels}; CLIP uses 3`);
  return problems;
}
