// CLIP's tokenizer against the reference ids (test/fixtures/clip/tokenizer-cases.jsonl, copied from
// ../shared/clip/, computed by the reference tokenizer — never by this code), from both vocabulary sources.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeHfVocabFiles } from "../../runtime/checkpoint/vocab-files.ts";
import {
  BUNDLED_BPE_PATH,
  bytesToUnicode,
  ClipTokenizer,
  cleanText,
  htmlUnescape,
  loadBpeSimpleVocab,
  loadHfVocab,
  loadTokenizerJson,
  splitPieces,
  VocabError,
} from "../../runtime/tokenizer/index.ts";

interface Case {
  text: string;
  ids: number[];
}

const CASES: Case[] = readFileSync(
  path.join(import.meta.dirname, "../fixtures/clip/tokenizer-cases.jsonl"),
  "utf8",
)
  .trim()
  .split("\n")
  .map((line) => JSON.parse(line) as Case);

const dir = mkdtempSync(path.join(tmpdir(), "vlmp-tok-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const original = new ClipTokenizer(loadBpeSimpleVocab(BUNDLED_BPE_PATH));
writeHfVocabFiles(dir, loadBpeSimpleVocab(BUNDLED_BPE_PATH));
const hf = new ClipTokenizer(loadHfVocab(path.join(dir, "vocab.json"), path.join(dir, "merges.txt")));

describe("reference cases", () => {
  it("has the cases", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(50);
  });
  it.each(CASES.map((c, i) => [i, c] as const))("case %i from bpe_simple_vocab_16e6.txt.gz", (_i, c) => {
    expect(original.encodeWithSpecials(c.text)).toEqual(c.ids);
  });
  it("every case from vocab.json + merges.txt", () => {
    for (const c of CASES) expect(hf.encodeWithSpecials(c.text)).toEqual(c.ids);
  });
  it("every case from tokenizer.json", () => {
    const vocab = JSON.parse(readFileSync(path.join(dir, "vocab.json"), "utf8"));
    const merges = readFileSync(path.join(dir, "merges.txt"), "utf8").trim().split("\n").slice(1);
    const file = path.join(dir, "tokenizer.json");
    writeFileSync(file, JSON.stringify({ model: { type: "BPE", vocab, merges } }));
    const fast = new ClipTokenizer(loadTokenizerJson(file));
    for (const c of CASES) expect(fast.encodeWithSpecials(c.text)).toEqual(c.ids);
  });
});

describe("vocabulary", () => {
  it("both sources agree on all 49408 symbols", () => {
    const a = loadBpeSimpleVocab();
    const b = loadHfVocab(path.join(dir, "vocab.json"), path.join(dir, "merges.txt"));
    expect(a.encoder.size).toBe(49408);
    expect([...b.encoder.entries()].sort((x, y) => x[1] - y[1])).toEqual([...a.encoder.entries()]);
    expect(a.encoder.get("<|startoftext|>")).toBe(49406);
    expect(a.encoder.get("<|endoftext|>")).toBe(49407);
    expect(b.merges).toEqual(a.merges);
  });
  it("byte table: printable bytes are themselves, space is Ġ, every byte distinct", () => {
    const table = bytesToUnicode();
    expect(table[0x41]).toBe("A");
    expect(table[0x20]).toBe("Ġ");
    expect(table[0]).toBe("Ā");
    expect(new Set(table).size).toBe(256);
  });
  it("vocabulary order: printable byte symbols first (the reference's dict order)", () => {
    const v = loadBpeSimpleVocab();
    expect(v.encoder.get("!")).toBe(0);
    expect(v.encoder.get("Ā")).toBe(188);
    expect(v.encoder.get("!</w>")).toBe(256);
  });
  it("a missing or broken file is a VocabError naming it", () => {
    expect(() => loadBpeSimpleVocab(path.join(dir, "nope.txt.gz"))).toThrow(/nope\.txt\.gz/);
    const broken = path.join(dir, "broken.gz");
    writeFileSync(broken, Buffer.from([0x1f, 0x8b, 1, 2, 3]));
    expect(() => loadBpeSimpleVocab(broken)).toThrow(VocabError);
    const short = path.join(dir, "short.txt");
    writeFileSync(short, "#version\na b\n");
    expect(() => loadBpeSimpleVocab(short)).toThrow(/short\.txt: holds 1 merges/);
    const notObject = path.join(dir, "v.json");
    writeFileSync(notObject, "[1,2]");
    expect(() => loadHfVocab(notObject, path.join(dir, "merges.txt"))).toThrow(
      /v\.json: expected a JSON object/,
    );
  });
});

describe("clean-up and pre-tokenizer", () => {
  it("unescapes HTML twice, collapses whitespace, lower-cases", () => {
    expect(cleanText("  Fish &amp;amp; CHIPS\t\n ")).toBe("fish & chips");
    expect(cleanText("a\u00a0b\u3000c\u2028d")).toBe("a b c d");
    expect(cleanText("\u001cx\u001f")).toBe("x");
  });
  it("normalises to NFC first (ftfy's normalisation): decomposed accents give the composed ids", () => {
    const composed = CASES.find((c) => c.text === "café")!;
    expect(original.encodeWithSpecials("cafe\u0301")).toEqual(composed.ids);
  });
  it("html unescape matches Python's html.unescape", () => {
    // Expected values from Python 3.11: html.unescape(s).
    expect(htmlUnescape("&amp;&lt;&gt;&quot;&#39;")).toBe("&<>\"'");
    expect(htmlUnescape("&amp")).toBe("&");
    expect(htmlUnescape("&notit;")).toBe("¬it;");
    expect(htmlUnescape("&#x41;&#65;&#X42")).toBe("AAB");
    expect(htmlUnescape("&#0;&#128;&#xD800;&#x110000;&#1;")).toBe("\ufffd€\ufffd\ufffd");
    expect(htmlUnescape("&bogus; & &;")).toBe("&bogus; & &;");
    expect(htmlUnescape("&#99999999999999999999;")).toBe("\ufffd");
  });
  it("splits like the reference pattern", () => {
    expect(splitPieces("don't stop c++ 42 <|endoftext|>")).toEqual([
      "don",
      "'t",
      "stop",
      "c",
      "++",
      "4",
      "2",
      "<|endoftext|>",
    ]);
  });
});

describe("truncation and padding", () => {
  it("truncates to 77 with the end token last", () => {
    const ids = original.encodeWithSpecials("word ".repeat(200));
    expect(ids).toHaveLength(77);
    expect(ids[0]).toBe(49406);
    expect(ids[76]).toBe(49407);
    expect(ids.slice(1, 76).every((id) => id === ids[1])).toBe(true);
  });
  it("exactly 75 words fit without truncation; 76 are cut", () => {
    const fit = original.encodeWithSpecials("a ".repeat(75));
    expect(fit).toHaveLength(77);
    expect(fit.filter((id) => id === 320)).toHaveLength(75);
    const cut = original.encodeWithSpecials("a ".repeat(76));
    expect(cut).toHaveLength(77);
    expect(cut.filter((id) => id === 320)).toHaveLength(75);
  });
  it("pads with an explicit pad id", () => {
    const batch = original.tokenize(["a photo of a dog", ""], { padId: 0 });
    expect(batch).toHaveLength(2 * 77);
    expect([...batch.slice(0, 8)]).toEqual([49406, 320, 1125, 539, 320, 1929, 49407, 0]);
    expect([...batch.slice(77, 80)]).toEqual([49406, 49407, 0]);
    const padEnd = original.tokenize(["cat"], { padId: 49407, contextLength: 5 });
    expect([...padEnd]).toEqual([49406, 2368, 49407, 49407, 49407]);
    expect([...original.tokenize(["a b c d e f"], { contextLength: 4 })]).toEqual([49406, 320, 321, 49407]);
  });
  it("a context too short for start and end is refused", () => {
    expect(() => original.encodeWithSpecials("x", 1)).toThrow(RangeError);
  });
  it("the cache returns the same ids on repeated text", () => {
    const first = original.encode("antidisestablishmentarianism");
    expect(original.encode("antidisestablishmentarianism")).toEqual(first);
  });
});

describe("speed", () => {
  it("tokenizes 5000 varied captions quickly (BPE cache)", () => {
    const words = CASES.flatMap((c) => c.text.split(" ")).filter((w) => w.length > 0);
    const texts = Array.from({ length: 5000 }, (_, i) =>
      Array.from({ length: 12 }, (_, j) => words[(i * 7 + j * 13) % words.length]).join(" "),
    );
    const fresh = new ClipTokenizer(loadBpeSimpleVocab());
    const start = performance.now();
    const batch = fresh.tokenize(texts);
    const ms = performance.now() - start;
    expect(batch).toHaveLength(5000 * 77);
    expect(ms).toBeLessThan(3000);
  });
});
