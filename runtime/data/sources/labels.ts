// The label space of class-list sources (folder, list_file, csv): `classes` names the classes by index;
// `include` keeps only items of those class indices (a category shift, METHODS §1.1); `known` (a subset of
// `classes` by name) makes the known classes 0..K−1 in `known` order and every other class of `classes`
// an unknown one, K, K+1, … in `classes` order.

import { type DataError, inRanges, type Range } from "./types.ts";

export interface LabelSpace {
  /** Class names by new label (known first). */
  readonly classes: readonly string[];
  readonly known: number;
  /** New label of the class at `classes[i]`. */
  relabel(i: number): number;
  /** Whether items of the class at `classes[i]` are kept. */
  keeps(i: number): boolean;
}

export function labelSpace(
  classes: readonly string[],
  options: { include?: readonly Range[] | undefined; known?: readonly string[] | undefined },
  fail: (message: string) => DataError,
): LabelSpace {
  const known = options.known ?? classes;
  const byName = new Map(classes.map((c, i) => [c, i] as const));
  for (const k of known) {
    if (!byName.has(k)) throw fail(`known class '${k}' is not in the class list (${classes.length} classes)`);
  }
  const knownIndex = new Map(known.map((k, i) => [k, i] as const));
  const unknown = classes.filter((c) => !knownIndex.has(c));
  const unknownIndex = new Map(unknown.map((c, i) => [c, known.length + i] as const));
  const include = options.include;
  return {
    classes: [...known, ...unknown],
    known: known.length,
    relabel: (i) => {
      const name = classes[i]!;
      return knownIndex.get(name) ?? unknownIndex.get(name)!;
    },
    keeps: (i) => include === undefined || inRanges(i, include),
  };
}
