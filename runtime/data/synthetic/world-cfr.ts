// CFR (METHODS §3.1, §3.10): a binary label carried by the core feature, the shape (cross vs star: fully
// predictive, small and harder), and a spurious attribute, the background (land = grass, water = waves:
// large and easy). In training the attribute agrees with the label for ~95 % of images, with group sizes
// in Waterbirds' proportions (3498 : 184 : 56 : 1057); validation and test are balanced over the four
// groups. Group g = label × 2 + attribute; labels (y, a) stored for every split (a training loop must not
// read them). Files: manifest.csv (group, attribute columns), classes.txt, attributes.txt.

import { COLOUR_NAMES, drawBackground } from "./palette.ts";
import { allocate, imagePath, type PlannedImage, type PlanOptions, type WorldPlan } from "./plan.ts";
import { Rng } from "./random.ts";
import { drawScene } from "./scene.ts";

export const CFR_CLASSES = ["cross", "star"] as const;
export const CFR_ATTRIBUTES = ["land", "water"] as const;
/** Training group weights in group order (cross, land), (cross, water), (star, land), (star, water). */
export const CFR_TRAIN_GROUPS = [3498, 184, 56, 1057] as const;
export const CFR_SPLITS = { train: 0.6, val: 0.2, test: 0.2 } as const;

export function planCfr(options: PlanOptions): WorldPlan {
  const count = options.count ?? 3000;
  const [nTrain, nVal, nTest] = allocate(count, Object.values(CFR_SPLITS), 4);
  const counts: Record<string, number[]> = {
    train: allocate(nTrain!, CFR_TRAIN_GROUPS, 1),
    val: allocate(nVal!, [1, 1, 1, 1], 1),
    test: allocate(nTest!, [1, 1, 1, 1], 1),
  };
  const images: PlannedImage[] = [];
  let index = 0;
  for (const split of ["train", "val", "test"] as const) {
    counts[split]!.forEach((n, group) => {
      const label = group >> 1;
      const attribute = group & 1;
      const className = CFR_CLASSES[label]!;
      for (let k = 0; k < n; k++) {
        const rng = Rng.from(options.seed, "cfr", split, group, k);
        const scene = drawScene(
          rng,
          {
            shape: className,
            colour: rng.pick(COLOUR_NAMES),
            style: "flat",
            background: drawBackground(rng, attribute === 0 ? "grass" : "waves"),
          },
          ["small", "medium"],
        );
        images.push({
          path: imagePath(split, className, index++),
          split,
          label,
          className,
          group,
          attribute,
          scene,
        });
      }
    });
  }
  return {
    world: "cfr",
    seed: options.seed,
    parts: [
      {
        dir: "",
        classes: [...CFR_CLASSES],
        images,
        files: { "attributes.txt": `${CFR_ATTRIBUTES.join("\n")}\n` },
        meta: { attributes: CFR_ATTRIBUTES, groupCounts: counts, trainGroupWeights: CFR_TRAIN_GROUPS },
      },
    ],
    meta: {},
  };
}
