// The common front half of `compile`, `compile --emit graph` and (later) `run`: gather overrides,
// compile the spec, print every diagnostic, and say whether the command may go on.

import { type CompileMode, type CompileResult, compileFile } from "../../compiler/compile.ts";
import type { PipelineIr } from "../../compiler/ir.ts";
import { exitCodeFor, printDiagnostics } from "../report.ts";
import { singleSpecFile } from "../spec-files.ts";
import { gatherOverrides } from "./overrides.ts";

export interface SpecOptions {
  pipeline?: string;
  setFile: string[];
  strict?: boolean;
  denyWarnings?: boolean;
}

/** The compiled IR, or the exit code to stop with (diagnostics already printed). */
export type CompiledSpec = { ir: PipelineIr; result: CompileResult } | { exitCode: number };

export function compileSpec(
  file: string,
  overrideArgs: string[],
  options: SpecOptions,
  mode: CompileMode = "compile",
): CompiledSpec {
  const gathered = gatherOverrides(options.setFile, overrideArgs);
  const result = compileFile(singleSpecFile(file), {
    mode,
    strict: options.strict ?? false,
    ...(options.pipeline ? { pipeline: options.pipeline } : {}),
    overrides: gathered.overrides,
    overrideSources: gathered.sources,
  });
  const diagnostics = [...gathered.diagnostics, ...result.diagnostics];
  printDiagnostics(diagnostics, new Map([...gathered.sources, ...result.sources]), {});
  const code = exitCodeFor(diagnostics, { denyWarnings: options.denyWarnings ?? false });
  if (code !== 0 || !result.ir) return { exitCode: code || 1 };
  return { ir: result.ir, result };
}
