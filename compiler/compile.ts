// The compiler's front door: load a spec and its imports, check everything, apply overrides, run the
// lint rules and build the Pipeline IR. Used by `vlmp lint`, `vlmp compile` and `vlmp run`.

import type { PipelineDecl } from "../grammar/ast.ts";
import { checkDefinitions } from "./check-definitions.ts";
import { checkPipeline, type ResolvedPipeline } from "./check-pipeline.ts";
import { type Diagnostic, diagnostic, hasErrors, sortDiagnostics } from "./diagnostics.ts";
import { buildIr, irHash, type PipelineIr } from "./ir.ts";
import type { TypeTable } from "./ir-expr.ts";
import { assertValidIr } from "./ir-validate.ts";
import { lintModule, lintPipeline } from "./lint-rules.ts";
import { loadProgram } from "./modules.ts";
import type { Override } from "./overrides.ts";
import { checkPaths } from "./paths.ts";
import { PRELUDE_MODULES, Scopes } from "./scope.ts";
import { didYouMean } from "./suggest.ts";

export type CompileMode = "lint" | "compile" | "run";

export interface CompileOptions {
  mode: CompileMode;
  /** Missing data and weight paths are errors rather than warnings (always so for `run`). */
  strict?: boolean;
  /** Which pipeline of the file to compile; the first one when absent. */
  pipeline?: string;
  overrides?: readonly Override[];
  /** Texts of override sources, so their diagnostics can show excerpts. */
  overrideSources?: ReadonlyMap<string, string>;
  /** Use this text instead of reading the entry file (an editor buffer, a test). */
  text?: string;
}

export interface CompileResult {
  diagnostics: Diagnostic[];
  sources: Map<string, string>;
  /** Present for `compile` and `run` when there are no errors. */
  ir?: PipelineIr;
  hash?: string;
}

export function compileFile(path: string, options: CompileOptions): CompileResult {
  const program = loadProgram(path, options.text, PRELUDE_MODULES);
  const diagnostics = [...program.diagnostics];
  const sources = new Map(program.sources);
  for (const [file, text] of options.overrideSources ?? []) sources.set(file, text);
  const scopes = new Scopes(program, diagnostics);
  const types: TypeTable = new WeakMap();
  const entry = program.entry;

  // A file with syntax errors is not checked further: its recovered AST would only add cascades.
  if (entry.hasSyntaxErrors) {
    return { diagnostics: sortDiagnostics(dedupe(diagnostics)), sources };
  }
  checkDefinitions(entry, scopes, diagnostics, types);

  const pipelines = entry.ast.items.filter((i): i is PipelineDecl => i.kind === "Pipeline" && !i.recovered);
  const selected = selectPipelines(pipelines, options, entry.ast.path, diagnostics);
  const resolved: ResolvedPipeline[] = [];
  for (const decl of selected) {
    const overrides = decl === selected[0] ? (options.overrides ?? []) : [];
    const pipeline = checkPipeline(decl, entry, scopes, diagnostics, overrides);
    if (!pipeline) continue;
    resolved.push(pipeline);
    lintPipeline(pipeline, scopes, diagnostics);
    checkPaths(pipeline.paths, options.mode === "run" || options.strict === true, diagnostics);
  }
  lintModule(scopes.scopeOf(entry), diagnostics);

  const result: CompileResult = { diagnostics: sortDiagnostics(dedupe(diagnostics)), sources };
  const target = resolved[0];
  if (options.mode !== "lint" && target && !hasErrors(result.diagnostics)) {
    const ir = buildIr(target, scopes, types);
    assertValidIr(ir, `the IR of pipeline '${target.name}'`);
    result.ir = ir;
    result.hash = irHash(ir);
  }
  return result;
}

/** lint checks every pipeline of the file; compile and run take one (named, or the first). */
function selectPipelines(
  pipelines: PipelineDecl[],
  options: CompileOptions,
  file: string,
  diagnostics: Diagnostic[],
): PipelineDecl[] {
  if (options.pipeline !== undefined) {
    const named = pipelines.find((p) => p.name.name === options.pipeline);
    if (!named) {
      const help = didYouMean(
        options.pipeline,
        pipelines.map((p) => p.name.name),
      );
      diagnostics.push(
        diagnostic("V2010", fileStart(file), `no pipeline '${options.pipeline}' in ${file}`, {
          ...(help ? { help } : {}),
          notes: [`pipelines here: ${pipelines.map((p) => p.name.name).join(", ") || "none"}`],
        }),
      );
      return [];
    }
    return [named];
  }
  if (options.mode === "lint") return pipelines;
  if (pipelines.length === 0) {
    diagnostics.push(
      diagnostic("V2010", fileStart(file), `${file} defines no pipeline to ${options.mode}`, {
        help: "add `pipeline name { … }`, or lint a library file with `vlmp lint`",
      }),
    );
    return [];
  }
  return [pipelines[0]!];
}

function fileStart(file: string) {
  const start = { offset: 0, line: 1, col: 1 };
  return { file, start, end: start };
}

/** The same finding reached twice (a default evaluated for two blocks) is reported once. */
function dedupe(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = `${d.code}:${d.span.file}:${d.span.start.offset}:${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
