// `vlmp tokenize` and `vlmp model make-tiny` as a user runs them (`node bin/vlmp.js ...`). Every invocation
// is spawned once, in parallel, before the assertions.

import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadClipCheckpoint } from "../../runtime/checkpoint/checkpoint.ts";
import { type Outcome, vlmp } from "../support/vlmp.ts";

const dir = mkdtempSync(path.join(tmpdir(), "vlmp-cli-model-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BPE = "runtime/tokenizer/bpe_simple_vocab_16e6.txt.gz";

const outcomes: Record<string, Outcome> = {};
const invocations: Record<string, string[]> = {
  vocab: ["tokenize", "--vocab", BPE, "a photo of a cat.", "", "fish &amp; chips"],
  bundled: ["tokenize", "A PHOTO OF A DOG"],
  long: ["tokenize", "--vocab", BPE, "word ".repeat(100)],
  both: ["tokenize", "--vocab", BPE, "--model", dir, "x"],
  missingVocab: ["tokenize", "--vocab", path.join(dir, "none.txt.gz"), "x"],
  noTokenizer: ["tokenize", "--model", dir, "x"],
  noText: ["tokenize", "--vocab", BPE],
  badSeed: ["model", "make-tiny", "--out", path.join(dir, "bad"), "--seed", "-1x"],
  noOut: ["model", "make-tiny"],
};
const tiny = path.join(dir, "tiny");

beforeAll(async () => {
  const made = (async () => {
    outcomes["makeTiny"] = await vlmp("model", "make-tiny", "--out", tiny, "--seed", "5");
    outcomes["tokenizeModel"] = await vlmp("tokenize", "--model", tiny, "a photo of a cat.");
  })();
  const entries = await Promise.all(
    Object.entries(invocations).map(async ([name, args]) => [name, await vlmp(...args)] as const),
  );
  for (const [name, outcome] of entries) outcomes[name] = outcome;
  await made;
}, 60_000);

describe("vlmp tokenize", () => {
  it("prints one JSON array per text, start and end included, no padding", () => {
    const o = outcomes["vocab"]!;
    expect(o.code).toBe(0);
    expect(o.stdout).toBe(
      "[49406,320,1125,539,320,2368,269,49407]\n[49406,49407]\n[49406,2759,261,8855,49407]\n",
    );
  });
  it("uses the bundled merge list without --model or --vocab", () => {
    expect(outcomes["bundled"]!.stdout).toBe("[49406,320,1125,539,320,1929,49407]\n");
  });
  it("truncates to 77 with the end token last", () => {
    const ids = JSON.parse(outcomes["long"]!.stdout) as number[];
    expect(ids).toHaveLength(77);
    expect(ids[76]).toBe(49407);
  });
  it("usage errors exit 2; unreadable vocabularies exit 1 naming the file", () => {
    expect(outcomes["both"]!.code).toBe(2);
    expect(outcomes["both"]!.stderr).toContain("either --model or --vocab");
    expect(outcomes["noText"]!.code).toBe(2);
    expect(outcomes["missingVocab"]!.code).toBe(1);
    expect(outcomes["missingVocab"]!.stderr).toContain("none.txt.gz");
    expect(outcomes["missingVocab"]!.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(outcomes["noTokenizer"]!.code).toBe(1);
    expect(outcomes["noTokenizer"]!.stderr).toContain("vocab.json");
  });
});

describe("vlmp model make-tiny", () => {
  it("writes a checkpoint that loads as clip.tiny", () => {
    expect(outcomes["makeTiny"]!.code).toBe(0);
    expect(outcomes["makeTiny"]!.stderr).toContain("seed 5");
    expect(existsSync(path.join(tiny, "model.safetensors"))).toBe(true);
    expect(readFileSync(path.join(tiny, "README.md"), "utf8")).toContain("seed 5");
    expect(loadClipCheckpoint(tiny, { model: "tiny" }).layout.size).toBe(78);
  });
  it("its tokenizer files serve vlmp tokenize --model", () => {
    expect(outcomes["tokenizeModel"]!.stdout).toBe("[49406,320,1125,539,320,2368,269,49407]\n");
  });
  it("usage errors exit 2", () => {
    expect(outcomes["badSeed"]!.code).toBe(2);
    expect(outcomes["badSeed"]!.stderr).toContain("--seed must be a non-negative integer");
    expect(outcomes["noOut"]!.code).toBe(2);
    expect(outcomes["noOut"]!.stderr).toContain("--out");
  });
});
