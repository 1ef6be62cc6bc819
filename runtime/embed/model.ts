// A checkpoint ready to embed with: config.json → the backbone configuration, the checked checkpoint,
// the compiled backbone IR, the tokenizer's pad id.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { PipelineIr } from "../../compiler/ir.ts";
import type { JsonValue } from "../../compiler/values.ts";
import {
  type ClipCheckpoint,
  compileBackboneIr,
  loadClipCheckpoint,
  loadClipConfig,
} from "../checkpoint/index.ts";
import { type ArchChoice, chooseArch } from "./arch.ts";

export interface EmbedModel {
  readonly checkpoint: ClipCheckpoint;
  readonly arch: ArchChoice;
  readonly ir: PipelineIr;
  /** The backbone call in the IR (`{$call: "clip.tiny", args: …}`). */
  readonly call: JsonValue;
  readonly imageSize: number;
  /** Token sequence length the text forward takes (77). */
  readonly context: number;
  /** The id written after the end token. */
  readonly padId: number;
  /** Joint embedding width. */
  readonly embedDim: number;
}

export function loadEmbedModel(dir: string, arch?: string): EmbedModel {
  const choice = chooseArch(loadClipConfig(dir), arch);
  const checkpoint = loadClipCheckpoint(
    dir,
    choice.name === "clip_model" ? {} : { model: choice.name, sizes: choice.sizes },
  );
  const ir = compileBackboneIr(choice.call, dir);
  const call = ir.root.settings["backbone"] as JsonValue;
  const { config } = checkpoint;
  return {
    checkpoint,
    arch: choice,
    ir,
    call,
    imageSize: config.vision.imageSize,
    context: config.text.maxPositions,
    padId: padTokenId(checkpoint),
    embedDim: config.projectionDim,
  };
}

/**
 * The pad id: the tokenizer files' `pad_token` (special_tokens_map.json, then tokenizer_config.json)
 * looked up in the vocabulary, else text_config.pad_token_id, else 0 (the original release). Pooling at the
 * first end token makes the features independent of it; it is recorded for the ids' sake.
 */
export function padTokenId(checkpoint: ClipCheckpoint): number {
  for (const file of ["special_tokens_map.json", "tokenizer_config.json"]) {
    const path = join(checkpoint.dir, file);
    if (!existsSync(path)) continue;
    try {
      const raw = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
      const pad = raw["pad_token"];
      const content =
        typeof pad === "string"
          ? pad
          : typeof pad === "object" &&
              pad !== null &&
              typeof (pad as { content?: unknown }).content === "string"
            ? (pad as { content: string }).content
            : undefined;
      const id = content === undefined ? undefined : checkpoint.tokenizer.vocab.encoder.get(content);
      if (id !== undefined) return id;
    } catch {
      // An unreadable file: fall through to the config.
    }
  }
  return checkpoint.config.text.padTokenId ?? 0;
}
