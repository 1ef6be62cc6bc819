// Captions on data items (`DataItem.caption`): the synthetic source carries each row's `caption` from the
// world's manifest.csv; the csv source reads a `caption` column when the spec names one (directly and through
// the IR's `data.csv` call), leaves it off otherwise and for empty cells; a caption column the file lacks is a
// DataError naming the file and its columns.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { csvSource, DataError, DataResolver, syntheticSource } from "../../runtime/data/sources/index.ts";
import {
  allShapes,
  caption,
  makeWorld,
  planWorld,
  readManifest,
} from "../../runtime/data/synthetic/index.ts";

const dir = mkdtempSync(join(tmpdir(), "vlmp-captions-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const world = join(dir, "captions");
const COUNT = 40;

beforeAll(async () => {
  await makeWorld("captions", { out: world, count: COUNT, seed: 5, size: 16 });
}, 30_000);

describe("synthetic source captions", () => {
  it("every item carries its manifest row's caption, in file order", () => {
    const rows = readManifest(join(world, "manifest.csv"));
    for (const part of ["train", "val"]) {
      const source = syntheticSource({ world: "captions", root: world, part });
      const expected = rows.filter((r) => r.split === part);
      expect(source.items.length).toBe(expected.length);
      expect(source.items.length).toBeGreaterThan(0);
      expect(source.items.map((i) => i.caption)).toEqual(expected.map((r) => r.caption));
      expect(source.items.map((i) => i.path)).toEqual(expected.map((r) => join(world, r.path)));
    }
  });

  it("the captions are the scenes' captions (the plan's), naming the class's shape", () => {
    const plan = planWorld("captions", { seed: 5, count: COUNT });
    const images = plan.parts[0]!.images.filter((im) => im.split === "train");
    const source = syntheticSource({ world: "captions", root: world, part: "train" });
    expect(source.items.map((i) => i.caption)).toEqual(images.map((im) => im.caption));
    for (const [k, item] of source.items.entries()) {
      expect(item.caption).toMatch(/^an? /);
      // The label's class is the shape the caption names (in its words, last or before the background).
      const shape = allShapes().find((s) => s.name === source.classes[item.label]);
      expect(item.caption).toMatch(new RegExp(` ${shape!.words}( on |$)`));
      // Each is the scene's caption with some details left out: never a detail the scene lacks.
      const full = caption(images[k]!.scene);
      for (const word of item.caption!.split(" "))
        expect(full.split(" ")).toContain(word === "an" ? "a" : word);
    }
    // Details are dropped: some captions are shorter than the full ones, some are full.
    const full = images.map((im) => caption(im.scene));
    expect(images.some((im, k) => im.caption !== full[k])).toBe(true);
    // Distinct scenes give distinct captions often enough to pair images with texts.
    expect(new Set(source.items.map((i) => i.caption)).size).toBeGreaterThan(source.items.length / 2);
  });

  it("a ueo world's items carry captions too (every world's manifest has the column)", async () => {
    const ueo = join(dir, "ueo");
    await makeWorld("ueo", { out: ueo, count: 24, seed: 0, size: 16 });
    const test = syntheticSource({ world: "ueo", root: ueo, part: "test" });
    expect(test.items.length).toBeGreaterThan(0);
    const rows = readManifest(join(ueo, "manifest.csv")).filter((r) => r.split === "test");
    expect(test.items.map((i) => i.caption)).toEqual(rows.map((r) => r.caption));
    for (const item of test.items) expect(item.caption).toMatch(/\S/);
  });
});

describe("csv source captions", () => {
  const file = join(dir, "pairs.csv");
  beforeAll(() => {
    writeFileSync(
      file,
      [
        "path,label,text,split",
        'a.png,0,"a red circle, small",train',
        "b.png,1,a blue square,train",
        "c.png,1,,train",
        'd.png,0,"a ""quoted"" star",test',
        "",
      ].join("\n"),
    );
  });

  it("reads the named caption column (RFC 4180 quoting), none for an empty cell", () => {
    const s = csvSource({ file, caption: "text" });
    expect(s.items.map((i) => i.caption)).toEqual([
      "a red circle, small",
      "a blue square",
      undefined,
      'a "quoted" star',
    ]);
    expect("caption" in s.items[2]!).toBe(false);
    expect(s.items.map((i) => i.path)).toEqual(["a.png", "b.png", "c.png", "d.png"].map((f) => join(dir, f)));
    const train = csvSource({ file, caption: "text", keep: "train" });
    expect(train.items.map((i) => i.caption)).toEqual(["a red circle, small", "a blue square", undefined]);
  });

  it("without a caption setting, items carry no caption", () => {
    const s = csvSource({ file });
    expect(s.items).toHaveLength(4);
    for (const item of s.items) expect(item.caption).toBeUndefined();
  });

  it("the IR's data.csv call passes `caption` through", () => {
    const call = (caption: string | null) => ({
      $call: "data.csv",
      definition: "extern",
      args: { file, caption, keep: "test", labels: { $symbol: "given" } },
    });
    const r = new DataResolver({ pairs: call("text"), plain: call(null) });
    expect(r.source({ $ref: "pairs" }).items.map((i) => i.caption)).toEqual(['a "quoted" star']);
    expect(r.source({ $ref: "plain" }).items.map((i) => i.caption)).toEqual([undefined]);
  });

  it("a caption column the file lacks: a DataError naming the file and its columns", () => {
    let error: unknown;
    try {
      csvSource({ file, caption: "caption" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).path).toBe(file);
    expect((error as DataError).message).toBe(
      `${file}: no column 'caption' (columns: path, label, text, split)`,
    );
  });
});
