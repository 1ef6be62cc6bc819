// Prints diagnostics to stderr (text with carets, or JSON) and turns them into an exit code.

import type { Diagnostic } from "../compiler/diagnostics.ts";
import {
  diagnosticsToJson,
  renderDiagnostics,
  type SourceTexts,
  summaryLine,
} from "../compiler/render-diagnostics.ts";

export interface ReportOptions {
  format?: "text" | "json";
  denyWarnings?: boolean;
}

export function useColor(): boolean {
  return Boolean(process.stderr.isTTY) && !process.env["NO_COLOR"];
}

export function printDiagnostics(
  diagnostics: readonly Diagnostic[],
  sources: SourceTexts,
  options: ReportOptions,
): void {
  if (options.format === "json") {
    process.stdout.write(`${JSON.stringify(diagnosticsToJson(diagnostics), null, 2)}\n`);
    return;
  }
  if (diagnostics.length === 0) return;
  process.stderr.write(
    `${renderDiagnostics(diagnostics, sources, { color: useColor() })}\n\n${summaryLine(diagnostics)}\n`,
  );
}

export function exitCodeFor(diagnostics: readonly Diagnostic[], options: ReportOptions): number {
  if (diagnostics.some((d) => d.severity === "error")) return 1;
  if (options.denyWarnings && diagnostics.length > 0) return 1;
  return 0;
}
