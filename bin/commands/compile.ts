// `vlmp compile FILE [key=value ...] --emit ir [--format json|yaml] [--hash]`.

import { stringify } from "yaml";
import { compileSpec, type SpecOptions } from "./compile-spec.ts";

export interface CompileCommandOptions extends SpecOptions {
  emit: "ir";
  format: "json" | "yaml";
  hash?: boolean;
}

export function runCompile(file: string, overrideArgs: string[], options: CompileCommandOptions): number {
  const compiled = compileSpec(file, overrideArgs, options);
  if ("exitCode" in compiled) return compiled.exitCode;
  if (options.hash) process.stdout.write(`${compiled.result.hash}\n`);
  else if (options.format === "yaml") process.stdout.write(stringify(compiled.ir));
  else process.stdout.write(`${JSON.stringify(compiled.ir, null, 2)}\n`);
  return 0;
}
