// UEO (METHODS §1.1, §1.10): 12 shape classes, the first 8 known, the last 4 unknown (never named to the
// model), each half in alphabetical order; every image in one shifted target domain (sketch, which the
// captions world shows rarely). The unknowns are the four concave silhouettes (arrow, cross, heart, star);
// the knowns are the convex and round ones. A split by plain alphabetical order put near-twins on both sides
// (circle known / ring unknown, diamond known / square unknown: a square is a rotated diamond), so an unknown
// image matched a known prompt as well as a known image did and MSP could not tell them apart — the bundled
// tiny CLIP's zero-shot AUROC was 0.45–0.57 in every style, against 0.55–0.64 for this split (§1.10 asks that
// unknowns get lower MSP than knowns on average). One unlabeled training pool and one test set with all
// classes; the four category shifts (and CSDA) select training classes by VisDA-C's index pattern (12
// classes, K = 8):
//   CDA 0–7 · PDA 0–5 · ODA 0–9 · OPDA 0–5 ∪ 8–9 · CSDA 0–11 (all known)
// Files: manifest.csv, classes.txt, known.txt, shifts.json, list files train.txt, test.txt,
// train_<shift>.txt (`path label` lines; labels ≥ 8 are unknown classes).

import { BACKGROUNDS, COLOUR_NAMES, drawBackground } from "./palette.ts";
import {
  allocate,
  imagePath,
  inRanges,
  lines,
  listFile,
  type PlannedImage,
  type PlanOptions,
  type WorldPlan,
} from "./plan.ts";
import { Rng } from "./random.ts";
import { drawScene, type Style } from "./scene.ts";
import { COMMON_SHAPES } from "./shapes.ts";

export const UEO_KNOWN = 8;
export const UEO_SHIFTS = {
  cda: { known: [[0, 7]], train: [[0, 7]] },
  pda: { known: [[0, 7]], train: [[0, 5]] },
  oda: { known: [[0, 7]], train: [[0, 9]] },
  opda: {
    known: [[0, 7]],
    train: [
      [0, 5],
      [8, 9],
    ],
  },
  csda: { known: [[0, 11]], train: [[0, 11]] },
} as const satisfies Record<string, { known: [number, number][]; train: [number, number][] }>;
export type UeoShift = keyof typeof UEO_SHIFTS;

export const UEO_DOMAIN: Style = "sketch";

const UEO_UNKNOWN = ["arrow", "cross", "heart", "star"] as const;

/** The class list: the known classes, then the unknown ones, each alphabetical. */
export const UEO_CLASSES: readonly string[] = [
  ...COMMON_SHAPES.filter((c) => !(UEO_UNKNOWN as readonly string[]).includes(c)).sort(),
  ...[...UEO_UNKNOWN].sort(),
];

export function planUeo(options: PlanOptions): WorldPlan {
  const count = options.count ?? 1200;
  const classes = UEO_CLASSES;
  const perClass = allocate(
    count,
    classes.map(() => 1),
    2,
  );
  const images: PlannedImage[] = [];
  let index = 0;
  classes.forEach((className, label) => {
    const [train, test] = allocate(perClass[label]!, [0.6, 0.4], 1);
    for (const [split, n] of [
      ["train", train!],
      ["test", test!],
    ] as const) {
      for (let k = 0; k < n; k++) {
        const rng = Rng.from(options.seed, "ueo", split, className, k);
        const scene = drawScene(rng, {
          shape: className,
          colour: rng.pick(COLOUR_NAMES),
          style: UEO_DOMAIN,
          background: drawBackground(rng, rng.pick(BACKGROUNDS)),
        });
        images.push({ path: imagePath(split, className, index++), split, label, className, scene });
      }
    }
  });
  const train = images.filter((im) => im.split === "train");
  const files: Record<string, string> = {
    "known.txt": lines(classes.slice(0, UEO_KNOWN)),
    "shifts.json": `${JSON.stringify({ known: UEO_KNOWN, shifts: UEO_SHIFTS }, null, 2)}\n`,
    "train.txt": listFile(train),
    "test.txt": listFile(images.filter((im) => im.split === "test")),
  };
  for (const [shift, spec] of Object.entries(UEO_SHIFTS)) {
    files[`train_${shift}.txt`] = listFile(train.filter((im) => inRanges(im.label, spec.train)));
  }
  return {
    world: "ueo",
    seed: options.seed,
    parts: [
      { dir: "", classes, images, files, meta: { known: UEO_KNOWN, domain: UEO_DOMAIN, shifts: UEO_SHIFTS } },
    ],
    meta: {},
  };
}
