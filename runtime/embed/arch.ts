// Which `stdlib/clip.vlmp` configuration a checkpoint is: by its config.json's dimensions (tiny, ViT-B/32,
// ViT-B/16, ViT-L/14), or `clip.clip_model` at the config's own sizes when it is none of them.

import { type ClipConfig, type ClipModelArgs, clipModelArgs } from "../checkpoint/index.ts";

export const NAMED_ARCHS = ["tiny", "vit_b32", "vit_b16", "vit_l14"] as const;
export type NamedArch = (typeof NAMED_ARCHS)[number];

// The sizes each configuration fixes; `tiny` takes `patch` and `context` as arguments (SIZED), the others
// read CLIP's 77 tokens.
const VISION: Record<NamedArch, Partial<ClipModelArgs>> = {
  tiny: { image: 32, width: 64, layers: 2, heads: 4, text_width: 64, text_layers: 2, embed: 32 },
  vit_b32: {
    image: 224,
    patch: 32,
    width: 768,
    layers: 12,
    heads: 12,
    text_width: 512,
    text_layers: 12,
    embed: 512,
    context: 77,
  },
  vit_b16: {
    image: 224,
    patch: 16,
    width: 768,
    layers: 12,
    heads: 12,
    text_width: 512,
    text_layers: 12,
    embed: 512,
    context: 77,
  },
  vit_l14: {
    image: 224,
    patch: 14,
    width: 1024,
    layers: 24,
    heads: 16,
    text_width: 768,
    text_layers: 12,
    embed: 768,
    context: 77,
  },
};

/** The configurations' size arguments, with their defaults. */
const SIZED: Partial<Record<NamedArch, Partial<ClipModelArgs>>> = { tiny: { patch: 8, context: 77 } };

export interface ArchChoice {
  /** `tiny`, `vit_b32`, …, or `clip_model` (the dual encoder at the config's sizes). */
  readonly name: NamedArch | "clip_model";
  /** The backbone call to compile, e.g. `clip.vit_b32(weights: ".")`. */
  readonly call: string;
  /** The call's size arguments (`clip.tiny(…, context: 16)`), for the loader's check. */
  readonly sizes: Readonly<Record<string, number>>;
}

/** The configuration whose dimensions the config has, if any. */
export function matchArch(config: ClipConfig): NamedArch | undefined {
  const args = clipModelArgs(config);
  return NAMED_ARCHS.find((name) =>
    Object.entries(VISION[name]).every(([k, v]) => args[k as keyof ClipModelArgs] === v),
  );
}

/** The backbone call for a checkpoint: `arch` when given (checked by the loader), else by dimensions. */
export function chooseArch(config: ClipConfig, arch?: string): ArchChoice {
  const name = arch ?? matchArch(config);
  if (name === undefined || name === "clip_model") {
    const args = clipModelArgs(config);
    const text = Object.entries(args)
      .map(([k, v]) => `${k}: ${v}`)
      .join(", ");
    return { name: "clip_model", call: `clip.clip_model(${text})`, sizes: {} };
  }
  if (!(NAMED_ARCHS as readonly string[]).includes(name)) {
    throw new Error(
      `unknown --arch ${JSON.stringify(name)}: one of ${[...NAMED_ARCHS, "clip_model"].join(", ")}`,
    );
  }
  // Size arguments that differ from the configuration's defaults are passed (the loader checks them).
  const args = clipModelArgs(config);
  const sizes = Object.fromEntries(
    Object.entries(SIZED[name as NamedArch] ?? {})
      .filter(([k, v]) => args[k as keyof ClipModelArgs] !== v)
      .map(([k]) => [k, args[k as keyof ClipModelArgs]]),
  );
  const text = Object.entries(sizes)
    .map(([k, v]) => `, ${k}: ${v}`)
    .join("");
  return { name: name as NamedArch, call: `clip.${name}(weights: "."${text})`, sizes };
}
