// Every fuzzed property of the grammar layer, by name: parsing (parser-properties.ts) and formatting
// (printer-properties.ts). The vitest suite runs each a few hundred to a few thousand times; `npm run fuzz`
// runs 100,000 cases in all.

import fc from "fast-check";
import { sourceFile } from "./ast-arbitrary.ts";
import { checkParse, commentedSample, mutatedSample, parserProperties } from "./parser-properties.ts";
import { checkFormat, checkPrintedAst } from "./printer-properties.ts";

/** A synchronous property over one generated value. */
export type SyncProperty = fc.IRawProperty<[unknown], false>;

export const properties: Record<string, SyncProperty> = {
  ...parserProperties,
  formatMutatedSample: fc.property(mutatedSample, (t) => void checkFormat(t)),
  formatCommentedSample: fc.property(commentedSample, (t) => {
    checkParse(t);
    checkFormat(t);
  }),
  printGeneratedAst: fc.property(sourceFile, (ast) => checkPrintedAst(ast)),
};

/** Relative weight of each property in a run (the costlier ones get fewer cases). */
export const WEIGHTS: Record<string, number> = {
  tokenStream: 3,
  randomText: 3,
  mutatedSample: 2,
  formatMutatedSample: 1,
  formatCommentedSample: 1,
  printGeneratedAst: 2,
};
