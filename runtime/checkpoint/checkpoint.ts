// A CLIP checkpoint in the HuggingFace layout: `config.json`, `model.safetensors`, and the tokenizer files
// (`vocab.json` + `merges.txt`, or `tokenizer.json`). Loading checks the tensors against the keys and shapes
// that `stdlib/clip.vlmp` declares — for a named configuration (`tiny`, `vit_b32`, …) or for `clip_model` at
// the config's own sizes — and reports every missing, unexpected or misshapen tensor by name.

import { join } from "node:path";
import { ClipTokenizer } from "../tokenizer/tokenizer.ts";
import { loadVocabFromDir } from "../tokenizer/vocab.ts";
import { type ClipConfig, clipModelArgs, loadClipConfig, unsupportedConfigFeatures } from "./config.ts";
import { type CheckpointLayout, clipModelLayout, stdlibClipLayout } from "./layout.ts";
import { Safetensors, type TensorInfo } from "./safetensors.ts";

export class CheckpointError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    const shown = problems.slice(0, 12);
    const more = problems.length > shown.length ? `\n  … and ${problems.length - shown.length} more` : "";
    super(`${file}: ${problems.length === 1 ? problems[0] : `\n  ${shown.join("\n  ")}${more}`}`);
    this.name = "CheckpointError";
  }
}

/**
 * Tensors a checkpoint may hold that the model does not declare: the `position_ids` buffers older
 * transformers versions saved (HF ignores them on load too).
 */
export const IGNORED_KEYS = /(^|\.)embeddings\.position_ids$/;

/** A 0-d tensor and a one-element [1] tensor are the same parameter (the grammar has no `[]` shape). */
function sameShape(declared: readonly number[], stored: readonly number[]): boolean {
  if (declared.length === stored.length && declared.every((d, i) => d === stored[i])) return true;
  const scalar = (s: readonly number[]) => s.length === 0 || (s.length === 1 && s[0] === 1);
  return scalar(declared) && scalar(stored);
}

const shapeText = (s: readonly number[]) => `[${s.join(", ")}]`;

/** Every disagreement between a file's tensors and a declared layout, by name (empty when they agree). */
export function compareWithLayout(
  tensors: ReadonlyMap<string, TensorInfo>,
  layout: CheckpointLayout,
): string[] {
  const problems: string[] = [];
  for (const [key, shape] of layout) {
    const info = tensors.get(key);
    if (!info) problems.push(`missing tensor ${JSON.stringify(key)} ${shapeText(shape)}`);
    else if (!sameShape(shape, info.shape)) {
      problems.push(
        `tensor ${JSON.stringify(key)} has shape ${shapeText(info.shape)}, the model declares ${shapeText(shape)}`,
      );
    }
  }
  for (const key of tensors.keys()) {
    if (!layout.has(key) && !IGNORED_KEYS.test(key))
      problems.push(`unexpected tensor ${JSON.stringify(key)}`);
  }
  return problems;
}

export interface ClipCheckpoint {
  dir: string;
  config: ClipConfig;
  tokenizer: ClipTokenizer;
  weights: Safetensors;
  /** The declared layout the tensors were checked against. */
  layout: CheckpointLayout;
}

export interface LoadOptions {
  /** A configuration of `stdlib/clip.vlmp` (`tiny`, `vit_b32`, `vit_b16`, `vit_l14`) the checkpoint must
   * match; without one, `clip_model` at the config's sizes. */
  model?: string;
  /** Integer arguments of that configuration's call (`clip.tiny(…, patch: 4, context: 16)`). */
  sizes?: Readonly<Record<string, number>>;
}

/** Loads and checks a checkpoint folder; tensors are read on demand through `weights`. */
export function loadClipCheckpoint(dir: string, options: LoadOptions = {}): ClipCheckpoint {
  const config = loadClipConfig(dir);
  const unsupported = unsupportedConfigFeatures(config);
  if (unsupported.length > 0) throw new CheckpointError(config.file, unsupported);
  const own = clipModelLayout(clipModelArgs(config));
  let layout = own;
  if (options.model !== undefined) {
    layout = stdlibClipLayout(options.model, options.sizes);
    // The config must describe the named model: compare the layouts the two imply.
    const disagreements: string[] = [];
    for (const [key, shape] of layout) {
      const mine = own.get(key);
      if (!mine || !sameShape(shape, mine)) {
        disagreements.push(
          `the config implies ${mine ? `${JSON.stringify(key)} ${shapeText(mine)}` : `no ${JSON.stringify(key)}`}, clip.${options.model} declares ${shapeText(shape)}`,
        );
      }
    }
    for (const key of own.keys()) {
      if (!layout.has(key))
        disagreements.push(
          `the config implies ${JSON.stringify(key)}, which clip.${options.model} does not declare`,
        );
    }
    if (disagreements.length > 0) throw new CheckpointError(config.file, disagreements);
  }
  const tokenizer = new ClipTokenizer(loadVocabFromDir(dir));
  const weights = Safetensors.open(join(dir, "model.safetensors"));
  const problems = compareWithLayout(weights.tensors, layout);
  if (problems.length > 0) throw new CheckpointError(weights.file, problems);
  return { dir, config, tokenizer, weights, layout };
}
