// `vlmp tokenize (--model DIR | --vocab FILE) TEXT...`: CLIP's token ids of each TEXT, one JSON array per
// line (start and end tokens included, truncated to 77 with the end token last, no padding). Without
// --model or --vocab, the merge list bundled with vlmp (every released CLIP model's) is used.

import {
  bundledTokenizer,
  type ClipTokenizer,
  tokenizerFromDir,
  tokenizerFromFile,
  VocabError,
} from "../../runtime/tokenizer/index.ts";
import { UsageError } from "../usage-error.ts";

export interface TokenizeCommandOptions {
  model?: string;
  vocab?: string;
}

export function runTokenize(texts: string[], options: TokenizeCommandOptions): number {
  if (options.model !== undefined && options.vocab !== undefined) {
    throw new UsageError("give either --model or --vocab, not both");
  }
  let tokenizer: ClipTokenizer;
  try {
    tokenizer =
      options.model !== undefined
        ? tokenizerFromDir(options.model)
        : options.vocab !== undefined
          ? tokenizerFromFile(options.vocab)
          : bundledTokenizer();
  } catch (error) {
    if (error instanceof VocabError) {
      process.stderr.write(`vlmp: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const lines = texts.map((text) => JSON.stringify(tokenizer.encodeWithSpecials(text)));
  process.stdout.write(lines.map((line) => `${line}\n`).join(""));
  return 0;
}
