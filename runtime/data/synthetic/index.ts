export { contactSheet, type ShowOptions } from "./contact-sheet.ts";
export { type MakeOptions, type MakeResult, makeWorld, planWorld } from "./make.ts";
export { MANIFEST_COLUMNS, type ManifestRow, parseCsv, readManifest } from "./manifest.ts";
export {
  allocate,
  type PlannedImage,
  WORLDS,
  type WorldName,
  type WorldPart,
  type WorldPlan,
} from "./plan.ts";
export { Rng } from "./random.ts";
export { caption, type Scene, STYLES, sceneSvg } from "./scene.ts";
export { allShapes, COMMON_SHAPES, CROWDED_SHAPES } from "./shapes.ts";
export { APEX_DATASETS, APEX_SHOTS } from "./world-apex.ts";
export { CFR_ATTRIBUTES, CFR_CLASSES, CFR_TRAIN_GROUPS } from "./world-cfr.ts";
export { CLAP_TASKS, CLAP_TEMPLATES } from "./world-clap4clip.ts";
export { UEO_CLASSES, UEO_DOMAIN, UEO_KNOWN, UEO_SHIFTS, type UeoShift } from "./world-ueo.ts";
