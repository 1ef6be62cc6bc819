// Class prompts (METHODS §0, §5.1): every template × every class name (`_` → space), tokenised with the
// checkpoint's tokenizer into `ids` [C, P, 77] (padded with the backbone's pad id) and `slots` [C, P, 77]
// (the learned-context index at each position; with no context vectors, `slots` is all `context`, i.e. 0
// here, which no hook reads).

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
