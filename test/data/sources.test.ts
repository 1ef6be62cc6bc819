// Data sources from tiny temp folders and a `vlmp data make` world: order, labels (known first, unknown
// ≥ K), include ranges, hidden labels, CSV columns, CoOp few-shot sampling, and errors naming the path.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  coopSplitSource,
  csvSource,
  DataError,
  DataResolver,
  folderSource,
  listFileSource,
  pickClasses,
  readLines,
  syntheticClasses,
  syntheticSource,
  UnsupportedDataError,
} from "../../runtime/data/sources/index.ts";
import { makeWorld } from "../../runtime/data/synthetic/make.ts";

const dir = mkdtempSync(join(tmpdir(), "vlmp-sources-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function touch(path: string): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, "");
}

const ALL = ["ant", "bee", "cat_fish", "dog"];

beforeAll(() => {
  for (const [c, files] of [
    ["ant", ["b.png", "a.png"]],
    ["bee", ["x.jpg"]],
    ["cat fish", ["c.png", "notes.txt"]],
    ["dog", ["d1.png", "sub/d0.png"]],
  ] as const) {
    for (const f of files) touch(join(dir, "imgs", c, f));
  }
  writeFileSync(join(dir, "classes.txt"), "ant\nbee\n\ncat_fish\n dog \n");
});

describe("class lists", () => {
  it("lines and pick", () => {
    expect(readLines(join(dir, "classes.txt"))).toEqual(ALL);
    expect(
      pickClasses(ALL, [
        [0, 1],
        [2, 4],
      ]),
    ).toEqual(["ant", "cat_fish", "dog"]);
    expect(() => pickClasses(ALL, [[0, 9]])).toThrow(/outside the 4 classes/);
    expect(() => readLines(join(dir, "nope.txt"))).toThrow(DataError);
    expect(() => readLines(join(dir, "nope.txt"))).toThrow(/nope\.txt: no such file/);
  });
});

describe("folder", () => {
  it("orders by class list then path; `_` matches a space", () => {
    const s = folderSource({ root: join(dir, "imgs"), classes: ALL });
    expect(s.items.map((i) => [i.path.slice(dir.length + 6), i.label, i.index])).toEqual([
      ["ant/a.png", 0, 0],
      ["ant/b.png", 0, 1],
      ["bee/x.jpg", 1, 2],
      ["cat fish/c.png", 2, 3],
      ["dog/d1.png", 3, 4],
      ["dog/sub/d0.png", 3, 5],
    ]);
    expect(s.known).toBe(4);
    expect(s.labelsHidden).toBe(false);
  });

  it("known classes first, unknown ones ≥ K in class order; include; hidden", () => {
    const s = folderSource({
      root: join(dir, "imgs"),
      classes: ALL,
      known: ["bee", "dog"],
      include: [[1, 4]],
      labelsHidden: true,
    });
    expect(s.classes).toEqual(["bee", "dog", "ant", "cat_fish"]);
    expect(s.known).toBe(2);
    expect(s.items.map((i) => i.label)).toEqual([0, 3, 1, 1]);
    expect(s.labelsHidden).toBe(true);
  });

  it("fails naming the path", () => {
    expect(() => folderSource({ root: join(dir, "missing"), classes: ALL })).toThrow(
      /missing: no such folder/,
    );
    expect(() => folderSource({ root: join(dir, "imgs"), classes: ["ant", "bee"] })).toThrow(
      /cat fish: the folder is not a class/,
    );
    expect(() => folderSource({ root: join(dir, "imgs"), classes: ALL, known: ["emu"] })).toThrow(
      /known class 'emu'/,
    );
  });
});

describe("list_file and csv", () => {
  it("list_file: `path label` lines relative to root", () => {
    writeFileSync(join(dir, "list.txt"), "ant/a.png 0\ncat fish/c.png 2\n\ndog/d1.png 3\n");
    const s = listFileSource({
      file: join(dir, "list.txt"),
      root: join(dir, "imgs"),
      classes: ALL,
      known: ["ant", "dog"],
    });
    expect(s.items.map((i) => [i.path, i.label])).toEqual([
      [join(dir, "imgs", "ant/a.png"), 0],
      [join(dir, "imgs", "cat fish/c.png"), 3],
      [join(dir, "imgs", "dog/d1.png"), 1],
    ]);
    writeFileSync(join(dir, "bad.txt"), "ant/a.png 9\n");
    expect(() => listFileSource({ file: join(dir, "bad.txt"), root: dir, classes: ALL })).toThrow(
      /bad\.txt:1: label 9/,
    );
  });

  it("csv: keep by split, names or indices, groups from attributes", () => {
    writeFileSync(
      join(dir, "meta.csv"),
      'img,y,split,place,dom\na.png,0,0,1,x\nb.png,1,1,0,y\nc.png,1,0,0,z\n"d,e.png",bee,0,1,x\n',
    );
    const s = csvSource({
      file: join(dir, "meta.csv"),
      pathColumn: "img",
      label: "y",
      keep: "0",
      attribute: "place",
      domain: "dom",
      classes: ["ant", "bee"],
    });
    expect(s.items.map((i) => [i.path.slice(dir.length + 1), i.label, i.group, i.domain, i.index])).toEqual([
      ["a.png", 0, 1, "x", 0],
      ["c.png", 1, 2, "z", 1],
      ["d,e.png", 1, 3, "x", 2],
    ]);
    expect(() =>
      csvSource({ file: join(dir, "meta.csv"), pathColumn: "img", label: "y", group: "nope" }),
    ).toThrow(/no column 'nope'/);
  });
});

describe("coop_split", () => {
  it("few-shot by seed (deterministic), base and novel halves", () => {
    const entry = (i: number, l: number) => [`im/${l}/${i}.png`, l, `c${l}`];
    const train = [0, 1, 2, 3, 4].flatMap((l) => Array.from({ length: 6 }, (_, i) => entry(i, l)));
    writeFileSync(
      join(dir, "split.json"),
      JSON.stringify({ train, val: [entry(0, 0)], test: train.slice(0, 12) }),
    );
    const opts = { file: join(dir, "split.json"), root: dir, part: "train" as const, shots: 2, seed: 1 };
    const a = coopSplitSource(opts);
    expect(a.items).toHaveLength(10);
    expect(coopSplitSource(opts).items).toEqual(a.items);
    expect(coopSplitSource({ ...opts, seed: 2 }).items.map((i) => i.path)).not.toEqual(
      a.items.map((i) => i.path),
    );
    const base = coopSplitSource({ ...opts, shots: 0, half: "base" });
    expect(base.classes).toEqual(["c0", "c1", "c2"]);
    expect(new Set(base.items.map((i) => i.label))).toEqual(new Set([0, 1, 2]));
    const novel = coopSplitSource({ ...opts, shots: 0, half: "novel" });
    expect(novel.classes).toEqual(["c3", "c4"]);
    expect(novel.items.map((i) => i.label).slice(0, 1)).toEqual([0]);
    expect(novel.items[0]!.path).toBe(join(dir, "im/3/0.png"));
  });
});

describe("synthetic worlds and the IR's call values", () => {
  const world = join(dir, "ueo");
  beforeAll(async () => {
    await makeWorld("ueo", { out: world, count: 60, seed: 0 });
  });

  it("reads a ueo world: splits, shifts, known classes", () => {
    expect(syntheticClasses("ueo", world, "all")).toHaveLength(12);
    expect(syntheticClasses("ueo", world, "known")).toHaveLength(8);
    const test = syntheticSource({ world: "ueo", root: world, part: "test" });
    expect(test.items.length).toBe(24);
    expect(test.known).toBe(8);
    expect(Math.max(...test.items.map((i) => i.label))).toBe(11);
    const pda = syntheticSource({ world: "ueo", root: world, part: "train", shift: "pda" });
    expect(Math.max(...pda.items.map((i) => i.label))).toBe(5);
    expect(pda.items.map((i) => i.index)).toEqual(pda.items.map((_, k) => k));
    expect(() => syntheticSource({ world: "cfr", root: world, part: "test" })).toThrow(
      /holds the world 'ueo'/,
    );
    expect(() => syntheticSource({ world: "ueo", root: world, part: "val" })).toThrow(
      /no rows of split 'val'/,
    );
  });

  it("resolves references, ranges and calls; the same call once", () => {
    const data = {
      all: { $call: "data.lines", definition: "extern", args: { file: join(world, "classes.txt") } },
      classes: {
        $call: "data.pick",
        definition: "extern",
        args: { of: { $ref: "all" }, ranges: [{ $range: [0, 8] }] },
      },
      test: {
        $call: "data.list_file",
        definition: "extern",
        args: {
          file: join(world, "test.txt"),
          root: world,
          classes: { $ref: "all" },
          include: null,
          known: { $ref: "data.classes" },
          labels: { $symbol: "given" },
        },
      },
      kept: { $call: "data.subset", definition: "extern", args: { of: { $ref: "test" }, keep: [] } },
    };
    const r = new DataResolver(data);
    expect(r.classSetting("classes")).toHaveLength(8);
    const s = r.source({ $ref: "test" });
    expect(s).toBe(r.source(data.test));
    const direct = syntheticSource({ world: "ueo", root: world, part: "test" });
    expect(s.items.map((i) => [i.path, i.label])).toEqual(direct.items.map((i) => [i.path, i.label]));
    expect(() => r.source({ $ref: "kept" })).toThrow(UnsupportedDataError);
  });
});
