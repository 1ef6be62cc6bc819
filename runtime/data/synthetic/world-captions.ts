// Captions: a large captioned set for contrastive pre-training of the tiny CLIP. Every shape of the
// catalogue (common and fine-grained), every colour, size and background, in the styles weighted
// flat 45 % · outline 25 % · textured 18 % · sketch 7 % · inverted 5 % (so UEO's sketch domain is rare).
// `label` indexes classes.txt (the shape); split train 95 % / val 5 %. Captions name the shape and each other
// detail (style, size, colour, background) with probability ⅓.

import { BACKGROUNDS, COLOUR_NAMES, drawBackground } from "./palette.ts";
import { allocate, imagePath, type PlannedImage, type PlanOptions, type WorldPlan } from "./plan.ts";
import { Rng } from "./random.ts";
import { caption, drawScene, STYLES } from "./scene.ts";
import { allShapes } from "./shapes.ts";

export const CAPTION_STYLE_WEIGHTS: Record<(typeof STYLES)[number], number> = {
  flat: 45,
  outline: 25,
  textured: 18,
  sketch: 7,
  inverted: 5,
};

/** The probability that a caption names each detail besides the shape. */
const DETAIL = 1 / 3;

export function planCaptions(options: PlanOptions): WorldPlan {
  const count = options.count ?? 10000;
  const classes = allShapes().map((s) => s.name);
  const [train, val] = allocate(count, [0.95, 0.05], 1);
  const images: PlannedImage[] = [];
  let index = 0;
  for (const [split, n] of [
    ["train", train!],
    ["val", val!],
  ] as const) {
    for (let k = 0; k < n; k++) {
      const rng = Rng.from(options.seed, "captions", split, k);
      const label = rng.int(0, classes.length - 1);
      const className = classes[label]!;
      const scene = drawScene(rng, {
        shape: className,
        colour: rng.pick(COLOUR_NAMES),
        style: rng.weighted(
          STYLES,
          STYLES.map((s) => CAPTION_STYLE_WEIGHTS[s]),
        ),
        background: drawBackground(rng, rng.pick(BACKGROUNDS)),
      });
      // Each detail is named with probability ⅓, so that captions range from "a star" to the full
      // "a sketch of a small red star on stripes": matching them needs the shape, and short prompts
      // ("a photo of a star.") are captions the text tower has seen.
      const detail = {
        style: rng.next() < DETAIL,
        size: rng.next() < DETAIL,
        colour: rng.next() < DETAIL,
        background: rng.next() < DETAIL,
      };
      images.push({
        path: imagePath(split, className, index++),
        split,
        label,
        className,
        scene,
        caption: caption(scene, detail),
      });
    }
  }
  return {
    world: "captions",
    seed: options.seed,
    parts: [{ dir: "", classes, images, files: {}, meta: { styleWeights: CAPTION_STYLE_WEIGHTS } }],
    meta: {},
  };
}
