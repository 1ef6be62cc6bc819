// Writes docs/diagnostics.md from the code table (compiler/diagnostics.ts); a test keeps the two in step.
// Run: npx tsx scripts/diagnostics-doc.ts

import { writeFileSync } from "node:fs";
import { CODES } from "../compiler/diagnostics.ts";

const RANGES: [string, string][] = [
  ["V1", "Syntax"],
  ["V2", "Names and imports"],
  ["V3", "Types and settings"],
  ["V4", "Tensor shapes"],
  ["V5", "Data and weight paths"],
  ["V6", "Overrides"],
  ["V7", "Lint rules (warnings; `--deny-warnings` makes them fail)"],
  ["V9", "Internal"],
];

export function diagnosticsDoc(): string {
  const lines = [
    "# Diagnostics",
    "",
    "Every finding of `vlmp lint`, `vlmp compile` and `vlmp run` carries a stable code. A code never changes",
    "meaning; retired codes are not reused. Generated from `compiler/diagnostics.ts` by",
    "`npx tsx scripts/diagnostics-doc.ts`.",
    "",
    "Output: `file:line:col: severity[code]: message`, the source line with carets under the span, then",
    "`note:` lines (why) and a `help:` line (how to fix). `--format json` prints the same as a JSON array.",
    "",
  ];
  for (const [prefix, title] of RANGES) {
    lines.push(`## ${title}`, "", "| code | severity | meaning |", "|---|---|---|");
    for (const [code, info] of Object.entries(CODES)) {
      if (code.startsWith(prefix)) lines.push(`| ${code} | ${info.severity} | ${info.title} |`);
    }
    lines.push("");
  }
  lines.push(
    "V5001 is a warning under `vlmp lint` (CI machines often lack the data) and an error under `vlmp run`",
    "and `vlmp lint --strict`.",
    "",
  );
  return lines.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) writeFileSync("docs/diagnostics.md", diagnosticsDoc());
