// Checks that the data and weight paths a spec names exist. Paths are relative to the working directory
// (the project root, where `vlmp` runs). Missing paths warn under `lint` — CI machines often lack the
// data — and are errors under `run` and `lint --strict`.

import { existsSync } from "node:fs";
import path from "node:path";
import { type Diagnostic, diagnostic } from "./diagnostics.ts";
import type { PathUse } from "./evaluate.ts";

export function checkPaths(uses: readonly PathUse[], strict: boolean, diagnostics: Diagnostic[]): void {
  const seen = new Set<string>();
  for (const use of uses) {
    const key = `${use.span.file}:${use.span.start.offset}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (existsSync(path.resolve(use.value))) continue;
    diagnostics.push(
      diagnostic("V5001", use.span, `'${use.value}' does not exist`, {
        severity: strict ? "error" : "warning",
        notes: ["paths in a spec are relative to the directory vlmp runs in (the project root)"],
        help: strict
          ? "create it, fix the path, or override it: key.path='\"other/path\"'"
          : "fine on a machine without the data; `vlmp run` and `vlmp lint --strict` require it",
      }),
    );
  }
}
