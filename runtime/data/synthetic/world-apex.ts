// APEX (METHODS §4.1, §4.9): two data sets of different difficulty, each with 10 classes, a base/novel
// split (base = the first ⌈n/2⌉ classes, novel relabelled from 0 by the loader), 16 labeled shots per
// class in train (the few-shot sampler picks from them), a small val split and a test split:
//   easy/     well-separated everyday shapes with distinct names;
//   crowded/  polygons of 5–9 sides and stars of 4–8 points: crowded names, similar images.
// Files per data set: manifest.csv, classes.txt, base.txt, novel.txt, split_zhou_<Name>.json (CoOp layout:
// {"train"|"val"|"test": [[path, label, classname], …]}).

import { BACKGROUNDS, COLOUR_NAMES, drawBackground } from "./palette.ts";
import {
  allocate,
  imagePath,
  lines,
  type PlannedImage,
  type PlanOptions,
  type WorldPart,
  type WorldPlan,
} from "./plan.ts";
import { Rng } from "./random.ts";
import { drawScene } from "./scene.ts";
import { CROWDED_SHAPES } from "./shapes.ts";

export const APEX_DATASETS = {
  easy: ["circle", "square", "triangle", "star", "cross", "heart", "arrow", "ring", "diamond", "crescent"],
  crowded: [...CROWDED_SHAPES],
} as const;
export const APEX_SHOTS = 16;

export function planApex(options: PlanOptions): WorldPlan {
  const count = options.count ?? 1000;
  const perDataset = allocate(count, [1, 1], 1);
  const parts = Object.entries(APEX_DATASETS).map(([name, classes], d) =>
    planDataset(name, classes, perDataset[d]!, options.seed),
  );
  return { world: "apex", seed: options.seed, parts, meta: { datasets: Object.keys(APEX_DATASETS) } };
}

function planDataset(name: string, classes: readonly string[], count: number, seed: number): WorldPart {
  const perClass = allocate(
    count,
    classes.map(() => 1),
    3,
  );
  const images: PlannedImage[] = [];
  let index = 0;
  classes.forEach((className, label) => {
    const n = perClass[label]!;
    const shots = Math.min(APEX_SHOTS, Math.max(1, Math.floor(n * 0.4)));
    const val = Math.max(1, Math.min(4, Math.floor((n - shots) * 0.2)));
    const test = Math.max(1, n - shots - val);
    for (const [split, m] of [
      ["train", shots],
      ["val", val],
      ["test", test],
    ] as const) {
      for (let k = 0; k < m; k++) {
        const rng = Rng.from(seed, "apex", name, split, className, k);
        const scene = drawScene(rng, {
          shape: className,
          colour: rng.pick(COLOUR_NAMES),
          style: rng.chance(0.8) ? "flat" : "outline",
          background: drawBackground(rng, rng.pick(BACKGROUNDS)),
        });
        images.push({ path: imagePath(split, className, index++), split, label, className, scene });
      }
    }
  });
  const base = Math.ceil(classes.length / 2);
  const split = (s: string) =>
    images.filter((im) => im.split === s).map((im) => [im.path, im.label, im.className]);
  const title = name[0]!.toUpperCase() + name.slice(1);
  return {
    dir: name,
    classes,
    images,
    files: {
      "base.txt": lines(classes.slice(0, base)),
      "novel.txt": lines(classes.slice(base)),
      [`split_zhou_${title}.json`]: `${JSON.stringify({ train: split("train"), val: split("val"), test: split("test") })}\n`,
    },
    meta: { base, novel: classes.length - base, shots: APEX_SHOTS },
  };
}
