// `vlmp fmt [--check] FILES...`: canonical layout, idempotent, every comment kept. A file with syntax
// errors is reported and left untouched.

import { readFileSync, renameSync, writeFileSync } from "node:fs";
import type { Diagnostic } from "../../compiler/diagnostics.ts";
import { syntaxDiagnostic } from "../../compiler/syntax-diagnostics.ts";
import { parseSource } from "../../grammar/parse.ts";
import { formatSource } from "../../grammar/print.ts";
import { exitCodeFor, printDiagnostics } from "../report.ts";
import { expandSpecFiles } from "../spec-files.ts";

export interface FmtOptions {
  check?: boolean;
}

export function runFmt(args: string[], options: FmtOptions): number {
  const diagnostics: Diagnostic[] = [];
  const sources = new Map<string, string>();
  const unformatted: string[] = [];
  for (const file of expandSpecFiles(args)) {
    const text = readFileSync(file, "utf8");
    const { ast, problems } = parseSource(text, file);
    if (problems.length > 0) {
      sources.set(file, text);
      diagnostics.push(...problems.map(syntaxDiagnostic));
      continue;
    }
    const formatted = formatSource(ast);
    if (formatted === text) continue;
    unformatted.push(file);
    if (!options.check) {
      // Write beside, then rename: an interrupted fmt never leaves a half-written spec.
      writeFileSync(`${file}.vlmp-fmt.tmp`, formatted);
      renameSync(`${file}.vlmp-fmt.tmp`, file);
    }
  }
  printDiagnostics(diagnostics, sources, {});
  for (const file of unformatted) {
    process.stderr.write(options.check ? `not formatted: ${file}\n` : `formatted ${file}\n`);
  }
  const code = exitCodeFor(diagnostics, {});
  return code !== 0 ? code : options.check && unformatted.length > 0 ? 1 : 0;
}
