// The HF layout's tokenizer files, derived from a BPE vocabulary: `vocab.json`, `merges.txt`,
// `tokenizer_config.json` and `special_tokens_map.json` as HF's CLIPTokenizer writes them for the released
// openai/clip-vit-* checkpoints.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BpeVocab, END_OF_TEXT, START_OF_TEXT } from "../tokenizer/vocab.ts";

/** `vocab.json` (symbol → id in id order) and `merges.txt` (`#version: 0.2`, then one merge a line). */
export function writeHfVocabFiles(dir: string, vocab: BpeVocab): void {
  const entries = [...vocab.encoder.entries()].sort((a, b) => a[1] - b[1]);
  writeFileSync(join(dir, "vocab.json"), JSON.stringify(Object.fromEntries(entries)) + "\n");
  const merges = vocab.merges.map(([a, b]) => `${a} ${b}\n`).join("");
  writeFileSync(join(dir, "merges.txt"), `#version: 0.2\n${merges}`);
}

/** `tokenizer_config.json` and `special_tokens_map.json` as in openai/clip-vit-base-patch32. */
export function writeHfTokenizerConfig(dir: string, maxLength = 77): void {
  const token = (content: string) => ({
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: true,
    __type: "AddedToken",
  });
  const config = {
    unk_token: token(END_OF_TEXT),
    bos_token: token(START_OF_TEXT),
    eos_token: token(END_OF_TEXT),
    pad_token: END_OF_TEXT,
    add_prefix_space: false,
    errors: "replace",
    do_lower_case: true,
    name_or_path: "openai/clip-vit-base-patch32",
    model_max_length: maxLength,
    special_tokens_map_file: "./special_tokens_map.json",
    tokenizer_class: "CLIPTokenizer",
  };
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify(config, null, 2) + "\n");
  const special = {
    bos_token: { content: START_OF_TEXT, single_word: false, lstrip: false, rstrip: false, normalized: true },
    eos_token: { content: END_OF_TEXT, single_word: false, lstrip: false, rstrip: false, normalized: true },
    unk_token: { content: END_OF_TEXT, single_word: false, lstrip: false, rstrip: false, normalized: true },
    pad_token: END_OF_TEXT,
  };
  writeFileSync(join(dir, "special_tokens_map.json"), JSON.stringify(special, null, 2) + "\n");
}
