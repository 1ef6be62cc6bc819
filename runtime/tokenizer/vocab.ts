// CLIP's BPE vocabulary from either source: the original release's `bpe_simple_vocab_16e6.txt.gz` (a merge
// list from which the vocabulary is built) or the HuggingFace layout (`vocab.json` + `merges.txt`, or a
// fast tokenizer's `tokenizer.json`). Both give the same ids for every released CLIP model.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";

/** 49152 − 256 − 2: the merges CLIP uses (the original file holds more; the rest are ignored). */
export const CLIP_MERGE_COUNT = 48894;
export const START_OF_TEXT = "<|startoftext|>";
export const END_OF_TEXT = "<|endoftext|>";

/** The original release's merge file, shipped with vlmp (MIT, Copyright (c) 2021 OpenAI; see NOTICE). */
export const BUNDLED_BPE_PATH: string = fileURLToPath(
  new URL("./bpe_simple_vocab_16e6.txt.gz", import.meta.url),
);

/** A vocabulary: symbol → id, and the merge ranks (`first second` → rank, lower merges first). */
export interface BpeVocab {
  encoder: Map<string, number>;
  ranks: Map<string, number>;
  /** The merges in rank order, as [first, second]. */
  merges: [string, string][];
  /** Where it came from, for messages. */
  source: string;
}

export class VocabError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = "VocabError";
  }
}

/**
 * GPT-2's byte → unicode table: printable Latin-1 bytes map to themselves, the other 68 bytes to
 * U+0100 onwards, so that every byte string becomes a string of visible characters.
 */
export function bytesToUnicode(): string[] {
  const table = new Array<string>(256);
  for (const [byte, symbol] of byteSymbolsInVocabOrder()) table[byte] = symbol;
  return table;
}

/**
 * The same table as [byte, symbol] pairs in the reference's insertion order (printable bytes first, then the
 * rest): the order of the vocabulary's first 256 symbols.
 */
export function byteSymbolsInVocabOrder(): [number, string][] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const pairs: [number, string][] = bs.map((b) => [b, String.fromCharCode(b)]);
  const printable = new Set(bs);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!printable.has(b)) pairs.push([b, String.fromCharCode(256 + n++)]);
  }
  return pairs;
}

function parseMergeLines(lines: string[], file: string): [string, string][] {
  const merges: [string, string][] = [];
  for (const [i, line] of lines.entries()) {
    const parts = line.split(/\s+/).filter((p) => p !== "");
    if (parts.length !== 2) {
      throw new VocabError(file, `merge ${i + 1} is ${JSON.stringify(line)}, expected two symbols`);
    }
    merges.push([parts[0]!, parts[1]!]);
  }
  return merges;
}

function rankMap(merges: [string, string][]): Map<string, number> {
  const ranks = new Map<string, number>();
  merges.forEach(([a, b], i) => {
    const key = `${a} ${b}`;
    if (!ranks.has(key)) ranks.set(key, i);
  });
  return ranks;
}

/** The vocabulary exactly as the original `SimpleTokenizer` builds it from the merge list. */
export function vocabFromMerges(merges: [string, string][], source: string): BpeVocab {
  const bytes = byteSymbolsInVocabOrder().map(([, symbol]) => symbol);
  const symbols = [...bytes, ...bytes.map((s) => s + "</w>"), ...merges.map(([a, b]) => a + b)];
  symbols.push(START_OF_TEXT, END_OF_TEXT);
  const encoder = new Map<string, number>();
  symbols.forEach((s, i) => {
    encoder.set(s, i);
  });
  return { encoder, ranks: rankMap(merges), merges, source };
}

/** The original release's `bpe_simple_vocab_16e6.txt.gz` (gzip) or its decompressed text. */
export function loadBpeSimpleVocab(file: string = BUNDLED_BPE_PATH): BpeVocab {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (error) {
    throw new VocabError(file, `cannot read: ${(error as Error).message}`);
  }
  let text: string;
  try {
    text = data[0] === 0x1f && data[1] === 0x8b ? gunzipSync(data).toString("utf8") : data.toString("utf8");
  } catch (error) {
    throw new VocabError(file, `not a valid gzip file: ${(error as Error).message}`);
  }
  const lines = text
    .replace(/\n+$/, "")
    .split("\n")
    .slice(1, CLIP_MERGE_COUNT + 1);
  if (lines.length < CLIP_MERGE_COUNT) {
    throw new VocabError(file, `holds ${lines.length} merges, CLIP needs ${CLIP_MERGE_COUNT}`);
  }
  return vocabFromMerges(parseMergeLines(lines, file), file);
}

/** The HuggingFace layout: `vocab.json` (symbol → id) and `merges.txt` (a `#version` line, then merges). */
export function loadHfVocab(vocabFile: string, mergesFile: string): BpeVocab {
  const encoder = new Map<string, number>();
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(vocabFile, "utf8"));
  } catch (error) {
    throw new VocabError(vocabFile, `cannot read vocabulary: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new VocabError(vocabFile, "expected a JSON object of symbol → id");
  }
  for (const [symbol, id] of Object.entries(parsed)) {
    if (!Number.isInteger(id) || (id as number) < 0) {
      throw new VocabError(vocabFile, `the id of ${JSON.stringify(symbol)} is ${JSON.stringify(id)}`);
    }
    encoder.set(symbol, id as number);
  }
  let text: string;
  try {
    text = readFileSync(mergesFile, "utf8");
  } catch (error) {
    throw new VocabError(mergesFile, `cannot read merges: ${(error as Error).message}`);
  }
  // As HF's CLIPTokenizer: strip, split lines, skip the `#version` header, keep CLIP's merge count.
  let lines = text.trim().split("\n");
  if (lines[0]?.startsWith("#version")) lines = lines.slice(1);
  const merges = parseMergeLines(lines.slice(0, CLIP_MERGE_COUNT), mergesFile);
  return checkSpecials({ encoder, ranks: rankMap(merges), merges, source: vocabFile });
}

/** A fast tokenizer's `tokenizer.json` (model.vocab and model.merges). */
export function loadTokenizerJson(file: string): BpeVocab {
  let parsed: { model?: { vocab?: Record<string, number>; merges?: (string | [string, string])[] } };
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new VocabError(file, `cannot read: ${(error as Error).message}`);
  }
  const model = parsed.model;
  if (!model?.vocab || !Array.isArray(model.merges)) {
    throw new VocabError(file, "expected model.vocab and model.merges (a BPE tokenizer)");
  }
  const encoder = new Map(Object.entries(model.vocab));
  const merges = parseMergeLines(
    model.merges.map((m) => (Array.isArray(m) ? m.join(" ") : m)),
    file,
  );
  return checkSpecials({ encoder, ranks: rankMap(merges), merges, source: file });
}

function checkSpecials(vocab: BpeVocab): BpeVocab {
  for (const special of [START_OF_TEXT, END_OF_TEXT]) {
    if (!vocab.encoder.has(special)) throw new VocabError(vocab.source, `has no ${special} token`);
  }
  return vocab;
}

/** A checkpoint folder's vocabulary: `vocab.json` + `merges.txt`, else `tokenizer.json`. */
export function loadVocabFromDir(dir: string): BpeVocab {
  const vocabFile = join(dir, "vocab.json");
  const mergesFile = join(dir, "merges.txt");
  if (existsSync(vocabFile) && existsSync(mergesFile)) return loadHfVocab(vocabFile, mergesFile);
  const tokenizerJson = join(dir, "tokenizer.json");
  if (existsSync(tokenizerJson)) return loadTokenizerJson(tokenizerJson);
  throw new VocabError(dir, "no tokenizer files: expected vocab.json and merges.txt, or tokenizer.json");
}

/** A vocabulary file given on its own: the original `.txt.gz`/`.txt` merge list, `vocab.json` (with
 * `merges.txt` beside it) or `tokenizer.json`. */
export function loadVocabFile(file: string): BpeVocab {
  if (file.endsWith("tokenizer.json")) return loadTokenizerJson(file);
  if (file.endsWith(".json")) return loadHfVocab(file, join(file, "..", "merges.txt"));
  return loadBpeSimpleVocab(file);
}
