// Expands the command line's file arguments: folders become the .vlmp files inside them (recursively).

import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { UsageError } from "./usage-error.ts";

export function expandSpecFiles(args: readonly string[]): string[] {
  const files: string[] = [];
  for (const arg of args) {
    let stats: ReturnType<typeof statSync>;
    try {
      stats = statSync(arg);
    } catch {
      throw new UsageError(`no such file or folder: ${arg}`);
    }
    if (stats.isDirectory()) {
      const inside = readdirSync(arg, { recursive: true, encoding: "utf8" })
        .filter((f) => f.endsWith(".vlmp"))
        .sort()
        .map((f) => path.join(arg, f));
      if (inside.length === 0) throw new UsageError(`no .vlmp files in ${arg}`);
      files.push(...inside);
    } else {
      files.push(arg);
    }
  }
  return files;
}

/** Splits positional arguments into spec files and `key=value` overrides. */
export function splitOverrides(args: readonly string[]): { files: string[]; overrides: string[] } {
  const files: string[] = [];
  const overrides: string[] = [];
  for (const arg of args) (arg.includes("=") ? overrides : files).push(arg);
  return { files, overrides };
}

/** The one spec file a command such as `compile` takes. */
export function singleSpecFile(arg: string): string {
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(arg);
  } catch {
    throw new UsageError(`no such file: ${arg}`);
  }
  if (stats.isDirectory()) throw new UsageError(`${arg} is a folder: name one .vlmp file`);
  return arg;
}
