// The bundled pipelines read the real data sets in their published layouts: a miniature of each layout
// (Office-Home class folders, DomainNet's sketch lists, Waterbirds' metadata.csv, CIFAR-100 folders, CoOp's
// split_zhou JSON), with one or two placeholder files per class, and each pipeline's data block resolved
// against it as `vlmp run` would (paths relative to the working directory). The label spaces must be the
// ones METHODS.md tabulates: known/unknown classes per category shift, groups, base/novel halves.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileFile } from "../../compiler/compile.ts";
import { DataResolver } from "../../runtime/data/sources/resolve.ts";
import type { DataSource } from "../../runtime/data/sources/types.ts";

const repo = resolve(".");
const workspace = mkdtempSync(join(tmpdir(), "vlmp-layouts-"));
const home = process.cwd();
beforeAll(() => process.chdir(workspace));
afterAll(() => {
  process.chdir(home);
  rmSync(workspace, { recursive: true, force: true });
});

function touch(path: string, text = ""): void {
  mkdirSync(dirname(join(workspace, path)), { recursive: true });
  writeFileSync(join(workspace, path), text);
}

const classNames = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}_${String(i).padStart(3, "0")}`);

/** The data block of `pipeline` in the bundled FILE, resolved in the workspace. */
function dataOf(file: string, pipeline: string): DataResolver {
  const result = compileFile(join(repo, "pipelines", file), { mode: "compile", pipeline });
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  expect(errors.map((d) => d.message)).toEqual([]);
  const data = result.ir!.root.blocks.find((b) => b.block === "data");
  return new DataResolver(data!.settings);
}

/** The sorted set of class names a source's items carry. */
const classesPresent = (s: DataSource) => [...new Set(s.items.map((i) => s.classes[i.label]!))].sort();

describe("Office-Home class folders: UEO's category shifts (METHODS §1.1)", () => {
  const names = classNames("oh", 65);
  beforeAll(() => {
    touch("data/office-home/classes.txt", `${names.join("\n")}\n`);
    for (const c of names) touch(`data/office-home/Art/${c}/00001.jpg`);
  });

  // known K = 50; the unlabeled training data keep C_t; the test set always holds all 65 classes.
  const table: Record<string, readonly (readonly [number, number])[]> = {
    ueo: [[0, 60]],
    ueo_cda: [[0, 50]],
    ueo_pda: [[0, 35]],
    ueo_opda: [
      [0, 35],
      [50, 60],
    ],
  };
  for (const [pipeline, present] of Object.entries(table)) {
    it(`${pipeline}: training classes ${present.map(([a, b]) => `${a}–${b - 1}`).join(" ∪ ")}, labels hidden; test all 65`, () => {
      const data = dataOf("ueo.vlmp", pipeline);
      const train = data.source({ $ref: "train" });
      const expected = present.flatMap(([a, b]) => names.slice(a, b));
      expect(classesPresent(train)).toEqual([...expected].sort());
      expect(train.known).toBe(50);
      expect(train.labelsHidden).toBe(true);
      const test = data.source({ $ref: "test" });
      expect(test.items).toHaveLength(65);
      expect(test.known).toBe(50);
      // Known class k keeps index k; every unknown class maps to an index ≥ K.
      for (const item of test.items) {
        const original = names.indexOf(test.classes[item.label]!);
        if (original < 50) expect(item.label).toBe(original);
        else expect(item.label).toBeGreaterThanOrEqual(50);
      }
    });
  }
});

describe("DomainNet list files: UEO's sketch domain (METHODS §1.1)", () => {
  // sketch_train.txt / sketch_test.txt: `sketch/<class>/<file>.jpg <label>` lines, labels in class order.
  const names = classNames("dn", 345);
  beforeAll(() => {
    touch("data/domainnet/classes.txt", `${names.join("\n")}\n`);
    const lines = (part: string) =>
      names.map((c, label) => `sketch/${c}/${c}_${part}.jpg ${label}`).join("\n");
    touch("data/domainnet/sketch_train.txt", `${lines("train")}\n`);
    touch("data/domainnet/sketch_test.txt", `${lines("test")}\n`);
  });

  it("ueo_domainnet_sketch: known 0–299, training classes 0–329 from the train list, test all 345", () => {
    const data = dataOf("ueo.vlmp", "ueo_domainnet_sketch");
    const train = data.source({ $ref: "train" });
    expect(classesPresent(train)).toEqual(names.slice(0, 330));
    expect(train.known).toBe(300);
    expect(train.items[0]!.path).toBe(join("data/domainnet", `sketch/${names[0]}/${names[0]}_train.jpg`));
    const test = data.source({ $ref: "test" });
    expect(test.items).toHaveLength(345);
    expect(test.items.filter((i) => i.label >= 300)).toHaveLength(45);
  });
});

describe("Waterbirds metadata.csv: CFR and DFR (METHODS §3.1, §5.3)", () => {
  // The published header and its coding: y 0 landbird / 1 waterbird, split 0 train / 1 val / 2 test,
  // place 0 land / 1 water. Training is 95 % correlated; validation and test are balanced within class.
  const rows: string[] = [];
  const counts: Record<string, number> = {
    "0,0,0": 6,
    "0,0,1": 1,
    "0,1,0": 1,
    "0,1,1": 4,
    "1,0,0": 2,
    "1,0,1": 2,
    "1,1,0": 2,
    "1,1,1": 2,
    "2,0,0": 3,
    "2,0,1": 3,
    "2,1,0": 1,
    "2,1,1": 1,
  };
  beforeAll(() => {
    let id = 1;
    for (const [key, n] of Object.entries(counts)) {
      const [split, y, place] = key.split(",");
      for (let k = 0; k < n; k++, id++) {
        const file = `${String(id).padStart(3, "0")}.${y === "0" ? "Black_footed_Albatross" : "Laysan_Albatross"}/img_${id}.jpg`;
        touch(`data/waterbirds/${file}`);
        rows.push(
          `${id},${file},${y},${split},${place},${place === "0" ? "b/bamboo_forest" : "o/ocean"}/x.jpg`,
        );
      }
    }
    touch(
      "data/waterbirds/metadata.csv",
      `img_id,img_filename,y,split,place,place_filename\n${rows.join("\n")}\n`,
    );
    touch("data/waterbirds/classes.txt", "landbird\nwaterbird\n");
  });

  for (const [file, pipeline] of [
    ["cfr.vlmp", "cfr"],
    ["dfr.vlmp", "dfr"],
  ] as const) {
    it(`${pipeline}: training has class labels only; validation and test carry groups y·2 + place`, () => {
      const data = dataOf(file, pipeline);
      const train = data.source({ $ref: "train" });
      expect(train.items).toHaveLength(12);
      expect(train.items.every((i) => i.group === undefined)).toBe(true);
      expect(train.items.filter((i) => i.label === 1)).toHaveLength(5);
      const groupsOf = (s: DataSource) =>
        [0, 1, 2, 3].map((g) => s.items.filter((i) => i.group === g).length);
      expect(groupsOf(data.source({ $ref: "val" }))).toEqual([2, 2, 2, 2]);
      const test = data.source({ $ref: "test" });
      expect(groupsOf(test)).toEqual([3, 3, 1, 1]);
      // Rows keep the file's order: (y 0, land) ×3, (y 0, water) ×3, (y 1, land), (y 1, water).
      expect(test.items.map((i) => i.group)).toEqual([0, 0, 0, 1, 1, 1, 2, 3]);
      expect(test.items[0]!.path).toBe(join("data/waterbirds", "021.Black_footed_Albatross/img_21.jpg"));
    });
  }

  it("a split whose rows hold one place only still codes groups as y·2 + place", () => {
    // The test split keeps its land rows only; the file's other splits still hold both places.
    const landTest = rows.filter((r) => {
      const [, , , split, place] = r.split(",");
      return split !== "2" || place === "0";
    });
    touch(
      "data/waterbirds/land-test.csv",
      `img_id,img_filename,y,split,place,place_filename\n${landTest.join("\n")}\n`,
    );
    const test = dataOf("cfr.vlmp", "cfr").source({
      $call: "data.csv",
      args: {
        file: "data/waterbirds/land-test.csv",
        path_column: "img_filename",
        label: "y",
        attribute: "place",
        split: "split",
        keep: "2",
        classes: ["landbird", "waterbird"],
      },
    });
    expect(test.items.map((i) => i.group)).toEqual([0, 0, 0, 2]);
  });
});

describe("CIFAR-100 class folders: CLAP4CLIP (METHODS §2.1)", () => {
  const names = classNames("cifar", 100);
  beforeAll(() => {
    touch("data/cifar100/classes.txt", `${names.join("\n")}\n`);
    for (const c of names) {
      touch(`data/cifar100/train/${c}/0001.png`);
      touch(`data/cifar100/train/${c}/0002.png`);
      touch(`data/cifar100/test/${c}/0001.png`);
    }
  });

  it("clap4clip: 100 classes in list order, two training and one test image each", () => {
    const data = dataOf("clap4clip.vlmp", "clap4clip");
    const train = data.source({ $ref: "train" });
    const test = data.source({ $ref: "test" });
    expect(train.items).toHaveLength(200);
    expect(test.items).toHaveLength(100);
    expect(test.items.map((i) => i.label)).toEqual(names.map((_, i) => i));
    expect(train.known).toBe(100);
  });
});

describe("CoOp split_zhou JSON: APEX base-to-novel (METHODS §4.1)", () => {
  // split_zhou_DescribableTextures.json: {train, val, test} lists of [impath, label, classname].
  const names = classNames("dtd", 47);
  beforeAll(() => {
    const entries = (part: string, n: number) =>
      names.flatMap((c, label) =>
        Array.from({ length: n }, (_, k) => [`${c}/${part}_${k}.jpg`, label, c] as const),
      );
    const split = { train: entries("train", 20), val: entries("val", 2), test: entries("test", 3) };
    touch("data/dtd/split_zhou_DescribableTextures.json", JSON.stringify(split));
  });

  it("apex: 16 shots of the 24 base classes; base test; novel test relabelled from 0", () => {
    const data = dataOf("apex.vlmp", "apex");
    expect(data.classSetting("classes")).toEqual(names.slice(0, 24));
    expect(data.classSetting("novel")).toEqual(names.slice(24));
    const train = data.source({ $ref: "train" });
    expect(train.items).toHaveLength(24 * 16);
    for (let c = 0; c < 24; c++) expect(train.items.filter((i) => i.label === c)).toHaveLength(16);
    expect(data.source({ $ref: "test" }).items).toHaveLength(24 * 3);
    const novel = data.source({ $ref: "novel_test" });
    expect(novel.items).toHaveLength(23 * 3);
    expect(novel.items[0]).toMatchObject({
      label: 0,
      path: join("data/dtd/images", `${names[24]}/test_0.jpg`),
    });
  });
});
