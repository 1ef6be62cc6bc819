// Synthetic worlds: determinism (same seed → same bytes), manifest integrity (every listed file exists and
// decodes at the requested size; class, group, split and task counts as designed), captions.

import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contactSheet } from "../../runtime/data/synthetic/contact-sheet.ts";
import {
  allocate,
  allShapes,
  CFR_TRAIN_GROUPS,
  caption,
  makeWorld,
  planWorld,
  readManifest,
  UEO_CLASSES,
  UEO_KNOWN,
  UEO_SHIFTS,
  WORLDS,
  type WorldName,
} from "../../runtime/data/synthetic/index.ts";
import { inRanges } from "../../runtime/data/synthetic/plan.ts";

const root = mkdtempSync(join(tmpdir(), "vlmp-data-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const COUNTS: Record<WorldName, number> = { ueo: 120, cfr: 400, clap4clip: 100, apex: 140, captions: 120 };
const made = {} as Record<WorldName, string>;

beforeAll(async () => {
  for (const world of WORLDS) {
    made[world] = join(root, world);
    await makeWorld(world, { out: made[world], seed: 3, size: 24, count: COUNTS[world] });
  }
}, 60_000);

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

function digest(dir: string): Record<string, string> {
  return Object.fromEntries(
    files(dir).map((f) => [
      f,
      createHash("sha256")
        .update(readFileSync(join(dir, f)))
        .digest("hex"),
    ]),
  );
}

describe("allocation", () => {
  it("largest remainder with a minimum per positive weight", () => {
    expect(allocate(10, [1, 1, 1])).toEqual([4, 3, 3]);
    expect(allocate(4795, CFR_TRAIN_GROUPS)).toEqual([3498, 184, 56, 1057]);
    expect(allocate(36, CFR_TRAIN_GROUPS, 1)).toEqual([26, 1, 1, 8]);
    expect(allocate(5, [1, 1, 1, 100], 1)).toEqual([1, 1, 1, 2]);
    expect(allocate(400, [0.6, 0.2, 0.2], 4)).toEqual([240, 80, 80]);
    expect(allocate(7, [0.6, 0.4], 1).reduce((a, b) => a + b)).toBe(7);
  });
});

describe("determinism", () => {
  it("the same seed gives the same bytes; another seed differs", async () => {
    const again = join(root, "ueo-again");
    await makeWorld("ueo", { out: again, seed: 3, size: 24, count: COUNTS.ueo, concurrency: 3 });
    expect(digest(again)).toEqual(digest(made.ueo));
    const other = planWorld("ueo", { seed: 4, count: COUNTS.ueo });
    const first = planWorld("ueo", { seed: 3, count: COUNTS.ueo });
    expect(other.parts[0]!.images.map((im) => im.scene)).not.toEqual(
      first.parts[0]!.images.map((im) => im.scene),
    );
    expect(planWorld("cfr", { seed: 9, count: 50 })).toEqual(planWorld("cfr", { seed: 9, count: 50 }));
  });

  it("refuses a non-empty folder without force", async () => {
    await expect(makeWorld("ueo", { out: made.ueo, count: 12 })).rejects.toThrow(/not empty/);
  });
});

describe("manifest integrity", () => {
  for (const world of WORLDS) {
    it(`${world}: every listed image exists and decodes at 24 px; labels match the class list`, async () => {
      const meta = JSON.parse(readFileSync(join(made[world], "world.json"), "utf8")) as {
        world: string;
        seed: number;
        size: number;
        count: number;
        parts: { dir: string; classes: number; splits: Record<string, number> }[];
      };
      expect(meta).toMatchObject({ world, seed: 3, size: 24 });
      let total = 0;
      for (const part of meta.parts) {
        const dir = join(made[world], part.dir);
        const classes = readFileSync(join(dir, "classes.txt"), "utf8").split("\n").filter(Boolean);
        expect(classes).toHaveLength(part.classes);
        const rows = readManifest(join(dir, "manifest.csv"));
        total += rows.length;
        const splits: Record<string, number> = {};
        for (const r of rows) {
          splits[r.split] = (splits[r.split] ?? 0) + 1;
          expect(classes[Number(r.label)]).toBe(r.class);
          expect(r.path.startsWith(`${r.split}/${r.class}/`)).toBe(true);
          // Every world names every detail, except captions, which names each with probability ½.
          if (world === "captions") expect(r.caption).toMatch(/^an? [a-z -]+$/);
          else
            expect(r.caption).toMatch(/^an? [a-z ]+ of an? (small|medium|large) [a-z]+ [a-z -]+ on [a-z ]+$/);
        }
        expect(splits).toEqual(part.splits);
        const decoded = await Promise.all(rows.map((r) => sharp(join(dir, r.path)).metadata()));
        for (const m of decoded)
          expect([m.format, m.width, m.height, m.channels]).toEqual(["png", 24, 24, 3]);
        // Nothing on disk that the manifest does not list.
        expect(files(dir).filter((f) => f.endsWith(".png"))).toHaveLength(rows.length);
      }
      expect(total).toBe(meta.count);
      expect(Math.abs(total - COUNTS[world])).toBeLessThanOrEqual(4);
    });
  }

  it("ueo: 12 classes, 8 known; one shifted domain; shift list files follow the VisDA-C pattern", () => {
    const dir = made.ueo;
    const rows = readManifest(join(dir, "manifest.csv"));
    expect(new Set(rows.map((r) => r.domain))).toEqual(new Set(["sketch"]));
    expect(readFileSync(join(dir, "known.txt"), "utf8").split("\n").filter(Boolean)).toHaveLength(UEO_KNOWN);
    const classes = readFileSync(join(dir, "classes.txt"), "utf8").split("\n").filter(Boolean);
    // Known then unknown, each alphabetical; the unknowns are the concave silhouettes.
    expect(classes).toEqual(UEO_CLASSES);
    expect(classes.slice(UEO_KNOWN)).toEqual(["arrow", "cross", "heart", "star"]);
    expect(classes.slice(0, UEO_KNOWN)).toEqual([...classes.slice(0, UEO_KNOWN)].sort());
    for (const split of ["train", "test"]) {
      expect(new Set(rows.filter((r) => r.split === split).map((r) => r.label)).size).toBe(12);
    }
    for (const [shift, spec] of Object.entries(UEO_SHIFTS)) {
      const list = readFileSync(join(dir, `train_${shift}.txt`), "utf8")
        .split("\n")
        .filter(Boolean);
      const labels = new Set(list.map((l) => Number(l.split(" ")[1])));
      const expected = Array.from({ length: 12 }, (_, i) => i).filter((i) => inRanges(i, spec.train));
      expect([...labels].sort((a, b) => a - b)).toEqual(expected);
      for (const line of list) expect(existsSync(join(dir, line.split(" ")[0]!))).toBe(true);
    }
    expect(readFileSync(join(dir, "test.txt"), "utf8").split("\n").filter(Boolean)).toHaveLength(
      rows.filter((r) => r.split === "test").length,
    );
  });

  it("cfr: Waterbirds-shaped training groups (~95 % agreement), balanced val and test, group = 2y + a", () => {
    const rows = readManifest(join(made.cfr, "manifest.csv"));
    const count = (split: string) => {
      const c = [0, 0, 0, 0];
      for (const r of rows.filter((x) => x.split === split)) {
        expect(Number(r.group)).toBe(2 * Number(r.label) + Number(r.attribute));
        expect(r.background).toBe(r.attribute === "0" ? "grass" : "water");
        c[Number(r.group)]!++;
      }
      return c;
    };
    const train = count("train");
    const n = train.reduce((a, b) => a + b, 0);
    expect(n).toBe(240);
    CFR_TRAIN_GROUPS.forEach((w, g) => {
      expect(Math.abs(train[g]! - (n * w) / 4795)).toBeLessThanOrEqual(1);
      expect(train[g]).toBeGreaterThanOrEqual(1);
    });
    expect((train[0]! + train[3]!) / n).toBeCloseTo(0.95, 1);
    for (const split of ["val", "test"]) {
      const c = count(split);
      expect(Math.max(...c) - Math.min(...c)).toBeLessThanOrEqual(1);
    }
  });

  it("clap4clip: 5 tasks × 4 classes from a seeded order; task column agrees with tasks.json", () => {
    const tasks = JSON.parse(readFileSync(join(made.clap4clip, "tasks.json"), "utf8")) as {
      order: number[];
      tasks: number[][];
    };
    expect(tasks.tasks).toHaveLength(5);
    expect(tasks.tasks.every((t) => t.length === 4)).toBe(true);
    expect([...tasks.order].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    for (const r of readManifest(join(made.clap4clip, "manifest.csv"))) {
      expect(tasks.tasks[Number(r.task)]).toContain(Number(r.label));
      expect(r.caption).toContain(r.class.replace("_", " "));
    }
    expect(
      readFileSync(join(made.clap4clip, "templates.txt"), "utf8").split("\n").filter(Boolean).length,
    ).toBeGreaterThan(3);
  });

  it("apex: easy and crowded data sets, base = first ⌈n/2⌉, CoOp split JSON pointing at real files", () => {
    for (const [name, title] of [
      ["easy", "Easy"],
      ["crowded", "Crowded"],
    ] as const) {
      const dir = join(made.apex, name);
      const classes = readFileSync(join(dir, "classes.txt"), "utf8").split("\n").filter(Boolean);
      expect(readFileSync(join(dir, "base.txt"), "utf8").split("\n").filter(Boolean)).toEqual(
        classes.slice(0, 5),
      );
      expect(readFileSync(join(dir, "novel.txt"), "utf8").split("\n").filter(Boolean)).toEqual(
        classes.slice(5),
      );
      const split = JSON.parse(readFileSync(join(dir, `split_zhou_${title}.json`), "utf8")) as Record<
        string,
        [string, number, string][]
      >;
      expect(Object.keys(split)).toEqual(["train", "val", "test"]);
      for (const [path, label, classname] of [...split["train"]!, ...split["test"]!]) {
        expect(existsSync(join(dir, path))).toBe(true);
        expect(classes[label]).toBe(classname);
      }
      const perClassTrain = new Map<number, number>();
      for (const [, label] of split["train"]!) perClassTrain.set(label, (perClassTrain.get(label) ?? 0) + 1);
      expect(perClassTrain.size).toBe(10);
    }
  });

  it("captions: every shape class is nameable; captions say style, size, colour, shape and background", () => {
    const rows = readManifest(join(made.captions, "manifest.csv"));
    expect(allShapes().length).toBeGreaterThanOrEqual(10);
    const styles = new Set(rows.map((r) => r.domain));
    expect(styles.size).toBeGreaterThanOrEqual(4);
    const plan = planWorld("captions", { seed: 0, count: 3 });
    const scene = { ...plan.parts[0]!.images[0]!.scene, style: "sketch" as const, size: "small" as const };
    expect(
      caption({
        ...scene,
        shape: "star",
        colour: "red",
        background: { ...scene.background, kind: "stripes" },
      }),
    ).toBe("a sketch of a small red star on stripes");
  });
});

describe("contact sheet", () => {
  it("renders one row per class (per group for cfr)", async () => {
    const out = await contactSheet(made.cfr, { perClass: 4, tile: 32, out: join(root, "cfr-sheet.png") });
    const meta = await sharp(out).metadata();
    expect(meta.format).toBe("png");
    expect(meta.height).toBe(4 + 28 + 4 * 36);
  });
});
