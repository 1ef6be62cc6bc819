// `vlmp lint FILES... [key=value ...]`: every check, nothing run.

import { compileFile } from "../../compiler/compile.ts";
import type { Diagnostic } from "../../compiler/diagnostics.ts";
import { exitCodeFor, printDiagnostics } from "../report.ts";
import { expandSpecFiles, splitOverrides } from "../spec-files.ts";
import { gatherOverrides } from "./overrides.ts";

export interface LintOptions {
  strict?: boolean;
  denyWarnings?: boolean;
  setFile: string[];
  format: "text" | "json";
}

export function runLint(args: string[], options: LintOptions): number {
  const { files, overrides } = splitOverrides(args);
  const specs = expandSpecFiles(files);
  const gathered = gatherOverrides(options.setFile, overrides);
  const all: Diagnostic[] = [...gathered.diagnostics];
  const sources = new Map(gathered.sources);
  for (const spec of specs) {
    const result = compileFile(spec, {
      mode: "lint",
      strict: options.strict ?? false,
      overrides: gathered.overrides,
      overrideSources: gathered.sources,
    });
    all.push(...result.diagnostics);
    for (const [file, text] of result.sources) sources.set(file, text);
  }
  const unique = [
    ...new Map(all.map((d) => [`${d.code}:${d.span.file}:${d.span.start.offset}:${d.message}`, d])).values(),
  ];
  printDiagnostics(unique, sources, options);
  const code = exitCodeFor(unique, options);
  if (options.format === "text" && unique.length === 0) {
    process.stderr.write(`checked ${specs.length} file${specs.length === 1 ? "" : "s"}: no problems\n`);
  }
  return code;
}
