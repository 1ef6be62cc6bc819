// CLAP4CLIP (METHODS §2.1, §2.10): 20 classes = 5 shapes × 4 colours ("red_circle", …), so classes of
// different tasks share a shape or a colour (confusable); a seeded class order cut into 5 tasks of 4
// classes (the `task` column and tasks.json; `class_incremental(order_seed:)` may re-draw the order), per-class
// train/test splits, several prompt templates (templates.txt). Mostly flat images, some textured.

import { BACKGROUNDS, type ColourName, drawBackground } from "./palette.ts";
import { allocate, imagePath, lines, type PlannedImage, type PlanOptions, type WorldPlan } from "./plan.ts";
import { Rng } from "./random.ts";
import { drawScene } from "./scene.ts";

const SHAPES = ["circle", "square", "triangle", "star", "heart"] as const;
const COLOURS: readonly ColourName[] = ["red", "green", "blue", "yellow"];
export const CLAP_TASKS = 5;

export const CLAP_TEMPLATES = [
  "a photo of a {}.",
  "a drawing of a {}.",
  "a picture of a {}.",
  "a photo of a small {}.",
  "a photo of a large {}.",
  "a {} on a plain background.",
  "a noisy photo of a {}.",
];

export function planClap4clip(options: PlanOptions): WorldPlan {
  const count = options.count ?? 2000;
  const classes = COLOURS.flatMap((c) => SHAPES.map((s) => `${c}_${s}`));
  const order = Rng.from(options.seed, "clap4clip", "order").shuffle(classes.map((_, i) => i));
  const perTask = classes.length / CLAP_TASKS;
  const taskOf = new Array<number>(classes.length);
  order.forEach((c, position) => {
    taskOf[c] = Math.floor(position / perTask);
  });
  const perClass = allocate(
    count,
    classes.map(() => 1),
    2,
  );
  const images: PlannedImage[] = [];
  let index = 0;
  classes.forEach((className, label) => {
    const [colour, shapeName] = className.split("_") as [ColourName, string];
    const [train, test] = allocate(perClass[label]!, [0.7, 0.3], 1);
    for (const [split, n] of [
      ["train", train!],
      ["test", test!],
    ] as const) {
      for (let k = 0; k < n; k++) {
        const rng = Rng.from(options.seed, "clap4clip", split, className, k);
        const scene = drawScene(rng, {
          shape: shapeName,
          colour,
          style: rng.chance(0.3) ? "textured" : "flat",
          background: drawBackground(rng, rng.pick(BACKGROUNDS)),
        });
        images.push({
          path: imagePath(split, className, index++),
          split,
          label,
          className,
          task: taskOf[label]!,
          scene,
        });
      }
    }
  });
  const tasks = Array.from({ length: CLAP_TASKS }, (_, t) => order.slice(t * perTask, (t + 1) * perTask));
  return {
    world: "clap4clip",
    seed: options.seed,
    parts: [
      {
        dir: "",
        classes,
        images,
        files: {
          "templates.txt": lines(CLAP_TEMPLATES),
          "tasks.json": `${JSON.stringify({ order, tasks }, null, 2)}\n`,
        },
        meta: { tasks: CLAP_TASKS, classesPerTask: perTask },
      },
    ],
    meta: {},
  };
}
