// `lines(file)`: one class name per line; blank lines and surrounding whitespace are ignored.

import { existsSync, readFileSync } from "node:fs";
import { DataError } from "./types.ts";

export function readLines(file: string): string[] {
  if (!existsSync(file)) throw new DataError(file, "no such file");
  const names = readFileSync(file, "utf8")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (names.length === 0) throw new DataError(file, "holds no class names");
  return names;
}
