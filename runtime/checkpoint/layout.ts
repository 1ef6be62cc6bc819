// The checkpoint layout a stdlib model declares: every `param … from "key"` reached through its `sub`s,
// with the full key (the `from` prefixes joined with `.`, `{i}` interpolated in repeated subs) and the
// shape evaluated from the model's arguments. Read from the compiler's instantiation of the model
// (compiler/lower/instance.ts, the same one the lowering loads parameters through) — the definitions of
// `stdlib/clip.vlmp` are the single source of truth for key names and shapes; nothing here repeats them.

import { compileFile } from "../../compiler/compile.ts";
import type { PipelineIr } from "../../compiler/ir.ts";
import { LoweringError } from "../../compiler/lower/errors.ts";
import { instantiate } from "../../compiler/lower/instance.ts";
import { isJsonObject, type JsonValue } from "../../compiler/values.ts";

type Value = number | string | boolean | undefined;

export class LayoutError extends Error {
  override name = "LayoutError";
}

/** Full checkpoint key → shape, in declaration order. */
export type CheckpointLayout = Map<string, number[]>;

/** The layout of a model call (`{$call: "clip.tiny", args: {…}}`): its parameters that load from a checkpoint key. */
function layoutOfCall(ir: PipelineIr, call: JsonValue): CheckpointLayout {
  let params: ReturnType<typeof instantiate>["backboneParams"];
  try {
    params = instantiate(ir, call, []).backboneParams;
  } catch (error) {
    if (error instanceof LoweringError) throw new LayoutError(error.message);
    throw error;
  }
  const layout: CheckpointLayout = new Map();
  for (const p of params) if (p.checkpoint !== undefined) layout.set(p.checkpoint, [...p.shape]);
  return layout;
}

/**
 * The layout of model `defName` (a qualified name such as `clip.tiny`) called with `args` (named; an
 * undefined one takes its default).
 */
export function layoutFromIr(
  ir: PipelineIr,
  defName: string,
  args: Readonly<Record<string, Value>>,
): CheckpointLayout {
  const given = Object.entries(args).filter(
    (e): e is [string, Exclude<Value, undefined>] => e[1] !== undefined,
  );
  return layoutOfCall(ir, { $call: defName, args: Object.fromEntries(given) });
}

const irCache = new Map<string, PipelineIr>();

/**
 * The IR of a one-line spec whose backbone is `clip.<model>(<args>)`: it carries every definition the
 * model reaches. Compiled once per argument text.
 */
export function compileBackboneIr(call: string, weights = "."): PipelineIr {
  const text = `use clip\n\npipeline layout {\n  backbone = ${call}\n}\n`;
  const key = `${text}\0${weights}`;
  const cached = irCache.get(key);
  if (cached) return cached;
  const result = compileFile(`${weights}/layout.vlmp`, { mode: "compile", text });
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  if (!result.ir || errors.length > 0) {
    throw new LayoutError(`compiling ${call} failed: ${errors.map((d) => d.message).join("; ")}`);
  }
  irCache.set(key, result.ir);
  return result.ir;
}

/** The layout of the backbone of a compiled pipeline (`backbone = clip.tiny(weights: …)`). */
export function backboneLayout(ir: PipelineIr): CheckpointLayout {
  const backbone = ir.root.settings["backbone"];
  if (!isJsonObject(backbone) || typeof backbone["$call"] !== "string") {
    throw new LayoutError("the pipeline has no model call as its backbone");
  }
  return layoutOfCall(ir, backbone);
}

/**
 * The layout of a named configuration of `stdlib/clip.vlmp` (`tiny`, `vit_b32`, `vit_b16`, `vit_l14`), called
 * with `sizes` (integer arguments such as `clip.tiny`'s `patch` and `context`; the others take their defaults).
 */
export function stdlibClipLayout(
  model: string,
  sizes: Readonly<Record<string, number>> = {},
): CheckpointLayout {
  const args = Object.entries(sizes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `, ${name}: ${value}`)
    .join("");
  return backboneLayout(compileBackboneIr(`clip.${model}(weights: "."${args})`));
}

/** Arguments of `clip.clip_model` (the dual encoder) from a checkpoint's dimensions. */
export interface ClipModelArgs {
  image: number;
  patch: number;
  width: number;
  layers: number;
  heads: number;
  text_width: number;
  text_layers: number;
  text_heads: number;
  embed: number;
  context: number;
  vocab: number;
}

/** The layout `clip.clip_model` declares for these dimensions (any CLIP, not only the named ones). */
export function clipModelLayout(args: ClipModelArgs): CheckpointLayout {
  const ir = compileBackboneIr(`clip.tiny(weights: ".")`);
  return layoutFromIr(ir, "clip.clip_model", { ...args });
}
