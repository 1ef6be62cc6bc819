// CLIP's tokenizer: the public surface.

import { ClipTokenizer } from "./tokenizer.ts";
import { loadBpeSimpleVocab, loadVocabFile, loadVocabFromDir } from "./vocab.ts";

export { htmlUnescape } from "./html-unescape.ts";
export { ClipTokenizer, CONTEXT_LENGTH, cleanText, splitPieces, type TokenizeOptions } from "./tokenizer.ts";
export {
  type BpeVocab,
  BUNDLED_BPE_PATH,
  bytesToUnicode,
  CLIP_MERGE_COUNT,
  END_OF_TEXT,
  loadBpeSimpleVocab,
  loadHfVocab,
  loadTokenizerJson,
  loadVocabFile,
  loadVocabFromDir,
  START_OF_TEXT,
  VocabError,
  vocabFromMerges,
} from "./vocab.ts";

/** The tokenizer of a checkpoint folder (HF layout). */
export function tokenizerFromDir(dir: string): ClipTokenizer {
  return new ClipTokenizer(loadVocabFromDir(dir));
}

/** The tokenizer of one vocabulary file (`bpe_simple_vocab_16e6.txt.gz`, `vocab.json`, `tokenizer.json`). */
export function tokenizerFromFile(file: string): ClipTokenizer {
  return new ClipTokenizer(loadVocabFile(file));
}

/** The tokenizer of the merge list bundled with vlmp (every released CLIP model uses it). */
export function bundledTokenizer(): ClipTokenizer {
  return new ClipTokenizer(loadBpeSimpleVocab());
}
