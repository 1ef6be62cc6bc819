// Gathers overrides from `--set-file` YAML files and `key=value` arguments (the command line wins).

import { readFileSync } from "node:fs";
import type { Diagnostic } from "../../compiler/diagnostics.ts";
import { type Override, parseCommandLineOverrides, parseOverrideFile } from "../../compiler/overrides.ts";
import { UsageError } from "../usage-error.ts";

export interface GatheredOverrides {
  overrides: Override[];
  diagnostics: Diagnostic[];
  sources: Map<string, string>;
}

export function gatherOverrides(setFiles: readonly string[], args: readonly string[]): GatheredOverrides {
  const gathered: GatheredOverrides = { overrides: [], diagnostics: [], sources: new Map() };
  const add = (parsed: ReturnType<typeof parseOverrideFile>) => {
    gathered.overrides.push(...parsed.overrides);
    gathered.diagnostics.push(...parsed.diagnostics);
    for (const [file, text] of parsed.sources) gathered.sources.set(file, text);
  };
  for (const file of setFiles) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      throw new UsageError(`cannot read the override file ${file}`);
    }
    add(parseOverrideFile(file, text));
  }
  if (args.length > 0) add(parseCommandLineOverrides(args));
  return gathered;
}
