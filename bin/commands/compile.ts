// `vlmp compile FILE [key=value ...] --emit ir [--format json|yaml] [--hash]`.

import { stringify } from "yaml";
import { compileFile } from "../../compiler/compile.ts";
import { exitCodeFor, printDiagnostics } from "../report.ts";
import { singleSpecFile } from "../spec-files.ts";
import { gatherOverrides } from "./overrides.ts";

export interface CompileCommandOptions {
  emit: "ir";
  format: "json" | "yaml";
  hash?: boolean;
  pipeline?: string;
  setFile: string[];
  strict?: boolean;
  denyWarnings?: boolean;
}

export function runCompile(file: string, overrideArgs: string[], options: CompileCommandOptions): number {
  const gathered = gatherOverrides(options.setFile, overrideArgs);
  const result = compileFile(singleSpecFile(file), {
    mode: "compile",
    strict: options.strict ?? false,
    ...(options.pipeline ? { pipeline: options.pipeline } : {}),
    overrides: gathered.overrides,
    overrideSources: gathered.sources,
  });
  const diagnostics = [...gathered.diagnostics, ...result.diagnostics];
  const sources = new Map([...gathered.sources, ...result.sources]);
  printDiagnostics(diagnostics, sources, {});
  const code = exitCodeFor(diagnostics, { denyWarnings: options.denyWarnings ?? false });
  if (code !== 0 || !result.ir) return code || 1;
  if (options.hash) process.stdout.write(`${result.hash}\n`);
  else if (options.format === "yaml") process.stdout.write(stringify(result.ir));
  else process.stdout.write(`${JSON.stringify(result.ir, null, 2)}\n`);
  return 0;
}
