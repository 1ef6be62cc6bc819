// CLIP's tokenizer, as the original release's `SimpleTokenizer` (of ftfy, only NFC): clean the text (NFC,
// HTML unescape twice, collapse whitespace, lower-case), split it with CLIP's pattern, map each piece's UTF-8
// bytes to unicode symbols, apply the byte-level BPE (the last symbol of a word carries `</w>`), and look
// the symbols up. `tokenize` adds the start and end tokens, truncates to the context length keeping the end
// token last, and pads with an explicit pad id.

import { htmlUnescape } from "./html-unescape.ts";
import { type BpeVocab, bytesToUnicode, END_OF_TEXT, START_OF_TEXT, VocabError } from "./vocab.ts";

export const CONTEXT_LENGTH = 77;

// Python's str.isspace() (what str.strip() removes): Unicode White_Space plus the separators U+001C–U+001F.
const PY_SPACE = "\\p{White_Space}\\u001c-\\u001f";
const STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "gu");
// The `regex` module's `\s` in Unicode mode: the White_Space property.
const WHITESPACE_RUN = /\p{White_Space}+/gu;
const PIECES =
  /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\p{White_Space}\p{L}\p{N}]+/giu;

/**
 * The reference clean-up, `whitespace_clean(basic_clean(text)).lower()`. Of ftfy's `fix_text` only its NFC
 * normalisation is applied (HF's fast tokenizer does the same); its other repairs (mojibake, curly quotes)
 * are not.
 */
export function cleanText(text: string): string {
  const basic = htmlUnescape(htmlUnescape(text.normalize("NFC"))).replace(STRIP, "");
  return basic.replace(WHITESPACE_RUN, " ").replace(STRIP, "").toLowerCase();
}

/** The pre-tokenizer: CLIP's pattern over cleaned text. */
export function splitPieces(cleaned: string): string[] {
  return cleaned.match(PIECES) ?? [];
}

export interface TokenizeOptions {
  /** Sequence length (77 for every released CLIP). */
  contextLength?: number;
  /** The id written after the end token (0 in the original release; the end token in some HF configs). */
  padId?: number;
}

const MAX_CACHE = 1 << 16;

export class ClipTokenizer {
  readonly startId: number;
  readonly endId: number;
  private readonly byteSymbols = bytesToUnicode();
  private readonly encoder: Map<string, number>;
  private readonly ranks: Map<string, number>;
  /** Piece (byte symbols) → ids; the specials map to themselves as in the reference. */
  private readonly cache = new Map<string, number[]>();
  private readonly utf8 = new TextEncoder();

  constructor(readonly vocab: BpeVocab) {
    this.encoder = vocab.encoder;
    this.ranks = vocab.ranks;
    this.startId = this.idOf(START_OF_TEXT);
    this.endId = this.idOf(END_OF_TEXT);
  }

  private idOf(symbol: string): number {
    const id = this.encoder.get(symbol);
    if (id === undefined) {
      throw new VocabError(
        this.vocab.source,
        `the symbol ${JSON.stringify(symbol)} is not in the vocabulary`,
      );
    }
    return id;
  }

  /** The BPE symbols of one piece (already mapped to byte symbols), the last one ending in `</w>`. */
  bpe(piece: string): string[] {
    const word = Array.from(piece);
    if (word.length === 0) return [];
    word[word.length - 1] += "</w>";
    if (word.length === 1) return word;
    const ranks = this.ranks;
    for (;;) {
      // The lowest-ranked adjacent pair (each distinct pair has its own rank, so the choice is unique);
      // then every non-overlapping occurrence of it merges, left to right, as in the reference.
      let best = Number.POSITIVE_INFINITY;
      let first = "";
      let second = "";
      for (let i = 0; i + 1 < word.length; i++) {
        const rank = ranks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < best) {
          best = rank;
          first = word[i]!;
          second = word[i + 1]!;
        }
      }
      if (best === Number.POSITIVE_INFINITY) break;
      const merged: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (word[i] === first && i + 1 < word.length && word[i + 1] === second) {
          merged.push(first + second);
          i += 2;
        } else {
          merged.push(word[i]!);
          i += 1;
        }
      }
      word.splice(0, word.length, ...merged);
      if (word.length === 1) break;
    }
    return word;
  }

  private pieceIds(piece: string): number[] {
    const cached = this.cache.get(piece);
    if (cached) return cached;
    let ids: number[];
    if (piece === START_OF_TEXT || piece === END_OF_TEXT) {
      ids = [this.idOf(piece)];
    } else {
      let symbols = "";
      for (const byte of this.utf8.encode(piece)) symbols += this.byteSymbols[byte];
      ids = this.bpe(symbols).map((s) => this.idOf(s));
    }
    if (this.cache.size >= MAX_CACHE) this.cache.clear();
    this.cache.set(piece, ids);
    return ids;
  }

  /** The BPE ids of `text`, without start/end tokens (the reference `encode`). */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const piece of splitPieces(cleanText(text))) {
      for (const id of this.pieceIds(piece)) ids.push(id);
    }
    return ids;
  }

  /** Start token, ids, end token; truncated to `contextLength` with the end token kept last. No padding. */
  encodeWithSpecials(text: string, contextLength = CONTEXT_LENGTH): number[] {
    if (contextLength < 2)
      throw new RangeError(`context length ${contextLength} leaves no room for start and end`);
    const ids = [this.startId, ...this.encode(text), this.endId];
    if (ids.length > contextLength) {
      ids.length = contextLength;
      ids[contextLength - 1] = this.endId;
    }
    return ids;
  }

  /** A batch padded to `contextLength`: an Int32Array of texts.length × contextLength, row-major. */
  tokenize(texts: readonly string[], options: TokenizeOptions = {}): Int32Array {
    const context = options.contextLength ?? CONTEXT_LENGTH;
    const pad = options.padId ?? 0;
    const out = new Int32Array(texts.length * context).fill(pad);
    texts.forEach((text, row) => {
      out.set(this.encodeWithSpecials(text, context), row * context);
    });
    return out;
  }
}
