// Class prompts (METHODS §0, §5.1): every template × every class name (`_` → space), tokenised with the
// checkpoint's tokenizer into `ids` [C, P, 77] (padded with the backbone's pad id) and `slots` [C, P, 77]
// (the learned-context index at each position; with no context vectors, `slots` is all `context`, i.e. 0
// here, which no hook reads).

import { isJsonObject, type JsonObject, type JsonValue } from "../../compiler/values.ts";
import type { Tensor } from "../reference/tensor.ts";
import type { ClipTokenizer } from "../tokenizer/tokenizer.ts";
import { RunError } from "./errors.ts";

export function promptText(template: string, className: string): string {
  const name = className.replace(/_/g, " ");
  if (!template.includes("{}")) throw new RunError(`prompt template ${JSON.stringify(template)} has no '{}'`);
  return template.replaceAll("{}", name);
}

export interface PromptTensors {
  readonly ids: Tensor;
  readonly slots: Tensor;
  /** The texts, class-major: texts[c * P + p]. */
  readonly texts: readonly string[];
}

export function classPrompts(
  tokenizer: ClipTokenizer,
  templates: readonly string[],
  classes: readonly string[],
  options: { context?: number; padId?: number; slotFill?: number } = {},
): PromptTensors {
  const context = options.context ?? 77;
  if (templates.length === 0)
    throw new RunError("data.templates is empty: no prompt to embed the classes with");
  const texts = classes.flatMap((c) => templates.map((t) => promptText(t, c)));
  const ids = tokenizer.tokenize(texts, { contextLength: context, padId: options.padId ?? 0 });
  const shape = [classes.length, templates.length, context];
  return {
    ids: { shape, data: Float64Array.from(ids) },
    slots: { shape, data: new Float64Array(ids.length).fill(options.slotFill ?? 0) },
    texts,
  };
}

/** Each row's caption as its own one-prompt "class": ids [N, 1, 77] (contrastive pre-training). */
export function captionPrompts(
  tokenizer: ClipTokenizer,
  captions: readonly string[],
  options: { context?: number; padId?: number } = {},
): PromptTensors {
  const context = options.context ?? 77;
  const ids = tokenizer.tokenize(captions, { contextLength: context, padId: options.padId ?? 0 });
  const shape = [captions.length, 1, context];
  return {
    ids: { shape, data: Float64Array.from(ids) },
    slots: { shape, data: new Float64Array(ids.length) },
    texts: captions,
  };
}

/** The `prompt` adapter's arguments (stdlib/adapters.vlmp), when the pipeline adapts one. */
export interface ContextPromptSpec {
  readonly context: number;
  readonly init: string;
  readonly classPosition: "end" | "middle" | "front";
  readonly suffix: string;
}

export function contextPromptSpec(adapters: readonly JsonValue[]): ContextPromptSpec | undefined {
  const call = adapters.find((a) => isJsonObject(a) && String(a["$call"]).split(".").pop() === "prompt");
  if (!isJsonObject(call)) return undefined;
  const args = (call["args"] ?? {}) as JsonObject;
  const position = isJsonObject(args["class_position"]) ? String(args["class_position"]["$symbol"]) : "end";
  return {
    context: typeof args["context"] === "number" ? args["context"] : 4,
    init: typeof args["init"] === "string" ? args["init"] : "",
    classPosition: position === "middle" || position === "front" ? position : "end",
    suffix: typeof args["suffix"] === "string" ? args["suffix"] : "",
  };
}

/**
 * Learned-context prompts (stdlib/prompts.vlmp `context_templates`): one prompt per class,
 * `[SOS] v1 … vM <class> <suffix>. [EOS]` (or the class in the middle or in front), v = the words of `init`
 * (exactly M tokens) or M "X"; `slots` holds the context index 0..M−1 at each v position, M elsewhere.
 */
export function contextPrompts(
  tokenizer: ClipTokenizer,
  spec: ContextPromptSpec,
  classes: readonly string[],
  options: { context?: number; padId?: number } = {},
): PromptTensors {
  const length = options.context ?? 77;
  const M = spec.context;
  const words = spec.init === "" ? Array.from({ length: M }, () => "X").join(" ") : spec.init;
  const wordIds = tokenizer.encode(words);
  if (wordIds.length !== M) {
    throw new RunError(
      `prompt(init: ${JSON.stringify(spec.init)}) is ${wordIds.length} tokens; context is ${M}: give exactly ${M}`,
    );
  }
  const half = Math.floor(M / 2);
  const initWords = words.split(/\s+/);
  const suffix = spec.suffix ? ` ${spec.suffix}` : "";
  const texts: string[] = [];
  const slots = new Float64Array(classes.length * length).fill(M);
  classes.forEach((c, row) => {
    const name = c.replace(/_/g, " ");
    const nameTokens = tokenizer.encode(name).length;
    let text: string;
    let positions: number[];
    if (spec.classPosition === "front") {
      text = `${name} ${words}${suffix}.`;
      positions = Array.from({ length: M }, (_, k) => 1 + nameTokens + k);
    } else if (spec.classPosition === "middle") {
      const a = initWords.length === M ? initWords.slice(0, half).join(" ") : "";
      const b = initWords.length === M ? initWords.slice(half).join(" ") : "";
      if (initWords.length !== M) {
        throw new RunError("prompt(class_position: middle) needs one token per word of init");
      }
      text = `${a} ${name} ${b}${suffix}.`;
      positions = Array.from({ length: M }, (_, k) => (k < half ? 1 + k : 1 + nameTokens + k));
    } else {
      text = `${words} ${name}${suffix}.`;
      positions = Array.from({ length: M }, (_, k) => 1 + k);
    }
    texts.push(text);
    positions.forEach((pos, k) => {
      if (pos < length - 1) slots[row * length + pos] = k;
    });
  });
  const ids = tokenizer.tokenize(texts, { contextLength: length, padId: options.padId ?? 0 });
  const shape = [classes.length, 1, length];
  return { ids: { shape, data: Float64Array.from(ids) }, slots: { shape, data: slots }, texts };
}
