// `pick(of, ranges)`: the classes at index ranges, in order (`pick(all, [0..35, 50..60])`).

import { DataError, type Range } from "./types.ts";

export function pickClasses(of: readonly string[], ranges: readonly Range[], where = "pick"): string[] {
  const out: string[] = [];
  for (const [a, b] of ranges) {
    if (a < 0 || b > of.length || a > b) {
      throw new DataError(where, `range ${a}..${b} is outside the ${of.length} classes`);
    }
    out.push(...of.slice(a, b));
  }
  return out;
}
