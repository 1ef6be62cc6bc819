// Renders diagnostics like a compiler: `file:line:col: severity[code]: message`, the source line with
// carets under the span, then notes and help. Colour only when asked (the CLI asks on a TTY).

import type { Diagnostic } from "./diagnostics.ts";

export interface RenderOptions {
  color: boolean;
}

const ANSI = { red: "\x1b[31m", yellow: "\x1b[33m", blue: "\x1b[34m", bold: "\x1b[1m", reset: "\x1b[0m" };

/** The texts of every file a diagnostic may point into (sources, override files, the command line). */
export type SourceTexts = ReadonlyMap<string, string>;

export function renderDiagnostic(d: Diagnostic, sources: SourceTexts, options: RenderOptions): string {
  const paint = (code: string, text: string) => (options.color ? code + text + ANSI.reset : text);
  const severityColor = d.severity === "error" ? ANSI.red : ANSI.yellow;
  const { file, start } = d.span;
  const header =
    paint(ANSI.bold, `${file}:${start.line}:${start.col}: `) +
    paint(ANSI.bold + severityColor, `${d.severity}[${d.code}]`) +
    paint(ANSI.bold, `: ${d.message}`);
  const lines = [
    header,
    ...excerpt(
      d,
      sources,
      (t) => paint(severityColor, t),
      (t) => paint(ANSI.blue, t),
    ),
  ];
  for (const related of d.related ?? []) {
    lines.push(`  ${paint(ANSI.blue, "note")}: ${related.message} (${spanLocation(related.span)})`);
  }
  for (const note of d.notes ?? []) lines.push(`  ${paint(ANSI.blue, "note")}: ${note}`);
  if (d.help) lines.push(`  ${paint(ANSI.blue, "help")}: ${d.help}`);
  return lines.join("\n");
}

function spanLocation(span: Diagnostic["span"]): string {
  return `${span.file}:${span.start.line}:${span.start.col}`;
}

/** The first line of the span with carets under it (to the line's end when the span runs on). */
function excerpt(
  d: Diagnostic,
  sources: SourceTexts,
  caretPaint: (t: string) => string,
  gutterPaint: (t: string) => string,
): string[] {
  const text = sources.get(d.span.file);
  if (text === undefined) return [];
  const lineText = text.split(/\r?\n/)[d.span.start.line - 1];
  if (lineText === undefined) return [];
  const number = String(d.span.start.line);
  const gutter = " ".repeat(number.length);
  const startCol = d.span.start.col;
  const endCol = d.span.end.line === d.span.start.line ? d.span.end.col : lineText.length + 1;
  const width = Math.max(1, endCol - startCol);
  // Tabs keep their width in the caret line so carets stay under the right characters.
  const pad = lineText.slice(0, startCol - 1).replace(/[^\t]/g, " ");
  const carets = caretPaint("^".repeat(width) + (d.label ? ` ${d.label}` : ""));
  return [
    `${gutterPaint(`${number} |`)} ${lineText.replace(/\s+$/, "")}`,
    `${gutterPaint(`${gutter} |`)} ${pad}${carets}`,
  ];
}

export function renderDiagnostics(
  diagnostics: readonly Diagnostic[],
  sources: SourceTexts,
  options: RenderOptions,
): string {
  return diagnostics.map((d) => renderDiagnostic(d, sources, options)).join("\n\n");
}

/** Machine-readable form for `--format json`: one object per diagnostic, positions 1-based. */
export function diagnosticsToJson(diagnostics: readonly Diagnostic[]): object[] {
  return diagnostics.map((d) => ({
    code: d.code,
    severity: d.severity,
    message: d.message,
    file: d.span.file,
    line: d.span.start.line,
    col: d.span.start.col,
    endLine: d.span.end.line,
    endCol: d.span.end.col,
    ...(d.label ? { label: d.label } : {}),
    ...(d.notes?.length ? { notes: d.notes } : {}),
    ...(d.help ? { help: d.help } : {}),
    ...(d.related?.length
      ? {
          related: d.related.map((r) => ({
            message: r.message,
            file: r.span.file,
            line: r.span.start.line,
            col: r.span.start.col,
          })),
        }
      : {}),
  }));
}

export function summaryLine(diagnostics: readonly Diagnostic[]): string {
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  const warnings = diagnostics.length - errors;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  return `${plural(errors, "error")}, ${plural(warnings, "warning")}`;
}
