// Data sources behind the `extern source` and `extern classes` declarations of stdlib/data.vlmp.

export { type CoopSplitOptions, coopClasses, coopSplitSource, readCoopSplit } from "./coop-split.ts";
export { type CsvOptions, csvSource } from "./csv.ts";
export { FEATURES_FILE, featuresSource } from "./features.ts";
export { type FolderOptions, folderSource, IMAGE_EXTENSIONS, imagesUnder } from "./folder.ts";
export { type LabelSpace, labelSpace } from "./labels.ts";
export { readLines } from "./lines.ts";
export { type ListFileOptions, listFileSource } from "./list-file.ts";
export { pickClasses } from "./pick.ts";
export { DataResolver, UnsupportedDataError } from "./resolve.ts";
export { type SyntheticOptions, syntheticClasses, syntheticSource } from "./synthetic.ts";
export { DataError, type DataItem, type DataSource, inRanges, type Range } from "./types.ts";
