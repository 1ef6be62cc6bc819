// Feature extraction with a CLIP checkpoint (`vlmp embed`).

export { type ArchChoice, chooseArch, matchArch, NAMED_ARCHS, type NamedArch } from "./arch.ts";
export {
  type DataEntryFeatures,
  embedDataEntry,
  featuresFileMetadata,
  featuresFileTensors,
} from "./data-entry.ts";
export { type EmbedOptions, embedImages, embedTexts } from "./embed.ts";
export { pruneTo, type Tower, type TowerGraph, towerGraph } from "./encoder.ts";
export {
  collectImagePaths,
  type FeaturesFile,
  IMAGE_EXTENSIONS,
  readTextLines,
  writeFeatures,
} from "./files.ts";
export { type EmbedModel, loadEmbedModel, padTokenId } from "./model.ts";
