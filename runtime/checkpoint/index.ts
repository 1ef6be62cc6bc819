// HF CLIP checkpoints: the public surface (safetensors, config.json, declared layouts, loading, make-tiny).

export {
  CheckpointError,
  type ClipCheckpoint,
  compareWithLayout,
  IGNORED_KEYS,
  type LoadOptions,
  loadClipCheckpoint,
} from "./checkpoint.ts";
export {
  type ClipConfig,
  ConfigError,
  clipModelArgs,
  loadClipConfig,
  parseClipConfig,
  type TextConfig,
  unsupportedConfigFeatures,
  type VisionConfig,
} from "./config.ts";
export {
  backboneLayout,
  type CheckpointLayout,
  type ClipModelArgs,
  clipModelLayout,
  compileBackboneIr,
  LayoutError,
  layoutFromIr,
  stdlibClipLayout,
} from "./layout.ts";
export {
  type ClipDims,
  hfClipConfig,
  hfClipTensors,
  LOGIT_SCALE,
  makeTinyClip,
  TINY_DIMS,
} from "./make-tiny.ts";
export {
  type Dtype,
  decodeToFloat32,
  dtypeBytes,
  encodeSafetensors,
  MAX_HEADER_BYTES,
  parseHeader,
  Safetensors,
  SafetensorsError,
  type SafetensorsHeader,
  type TensorInfo,
  type TensorToWrite,
  writeSafetensors,
} from "./safetensors.ts";
export { writeHfTokenizerConfig, writeHfVocabFiles } from "./vocab-files.ts";
