// Loads a spec and everything it `use`s: stdlib modules by name, other files by path relative to the
// importing file. Parses each file once, reports unknown modules, missing files and import cycles.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { SourceFile, Span, UseDecl } from "../grammar/ast.ts";
import { parseSource } from "../grammar/parse.ts";
import { type Diagnostic, diagnostic } from "./diagnostics.ts";
import { didYouMean } from "./suggest.ts";
import { syntaxDiagnostic } from "./syntax-diagnostics.ts";

export const STDLIB_DIR = fileURLToPath(new URL("../stdlib/", import.meta.url));

export interface Module {
  /** Absolute path on disk. */
  path: string;
  /** The path diagnostics print (relative to the working directory where possible). */
  displayPath: string;
  /** The stdlib module name (`clip`) or the file's stem. */
  name: string;
  isStdlib: boolean;
  ast: SourceFile;
  /** Each `use` of this module and the module it resolved to (absent when it could not be loaded). */
  imports: { decl: UseDecl; target?: Module }[];
  hasSyntaxErrors: boolean;
}

export interface Program {
  entry: Module;
  modules: Map<string, Module>;
  diagnostics: Diagnostic[];
  /** Text of every loaded file by display path, for caret excerpts. */
  sources: Map<string, string>;
}

export function displayPathOf(absolute: string): string {
  const relative = path.relative(process.cwd(), absolute);
  return relative.startsWith("..") || path.isAbsolute(relative) ? absolute : relative;
}

export function stdlibModuleNames(): string[] {
  try {
    return readdirSync(STDLIB_DIR)
      .filter((f) => f.endsWith(".vlmp"))
      .map((f) => f.slice(0, -".vlmp".length))
      .sort();
  } catch {
    return [];
  }
}

// The stdlib does not change while a process runs: each file is parsed once, however many specs a
// `vlmp lint` checks. Keyed by text as well, so an edited file is never served stale.
const stdlibParses = new Map<string, { text: string; result: ReturnType<typeof parseSource> }>();

function parseStdlib(text: string, displayPath: string): ReturnType<typeof parseSource> {
  const cached = stdlibParses.get(displayPath);
  if (cached?.text === text) return cached.result;
  const result = parseSource(text, displayPath);
  stdlibParses.set(displayPath, { text, result });
  return result;
}

/** Loads `entryPath` (a file the user named) and all its imports. */
export function loadProgram(
  entryPath: string,
  entryText?: string,
  preludeModules: readonly string[] = [],
): Program {
  const modules = new Map<string, Module>();
  const diagnostics: Diagnostic[] = [];
  const sources = new Map<string, string>();

  const parseFile = (absolute: string, text: string, isStdlib: boolean, name: string): Module => {
    const displayPath = displayPathOf(absolute);
    sources.set(displayPath, text);
    const { ast, problems } = isStdlib ? parseStdlib(text, displayPath) : parseSource(text, displayPath);
    for (const problem of problems) diagnostics.push(syntaxDiagnostic(problem));
    const module: Module = {
      path: absolute,
      displayPath,
      name,
      isStdlib,
      ast,
      imports: [],
      hasSyntaxErrors: problems.length > 0,
    };
    modules.set(absolute, module);
    return module;
  };

  // Depth-first with an explicit "in progress" stack so that a cycle is reported where it closes.
  const inProgress: Module[] = [];
  const visit = (module: Module) => {
    inProgress.push(module);
    for (const decl of module.ast.items) {
      if (decl.kind !== "Use" || decl.recovered) continue;
      const resolved = resolveUse(decl, module);
      if ("error" in resolved) {
        diagnostics.push(resolved.error);
        module.imports.push({ decl });
        continue;
      }
      const cycleStart = inProgress.findIndex((m) => m.path === resolved.path);
      if (cycleStart >= 0) {
        const chain = [...inProgress.slice(cycleStart), inProgress[cycleStart]!].map((m) => m.displayPath);
        diagnostics.push(
          diagnostic("V2004", decl.span, `import cycle: ${chain.join(" → ")}`, {
            help: "move the definitions both files need into a third file that neither imports",
          }),
        );
        module.imports.push({ decl });
        continue;
      }
      let target = modules.get(resolved.path);
      if (!target) {
        let text: string;
        try {
          text = readFileSync(resolved.path, "utf8");
        } catch (error) {
          diagnostics.push(
            diagnostic("V2009", decl.module.span, `cannot read '${displayPathOf(resolved.path)}'`, {
              notes: [(error as Error).message],
            }),
          );
          module.imports.push({ decl });
          continue;
        }
        target = parseFile(resolved.path, text, resolved.isStdlib, resolved.name);
        visit(target);
      }
      module.imports.push({ decl, target });
    }
    inProgress.pop();
  };

  const absoluteEntry = path.resolve(entryPath);
  const text = entryText ?? readFileSync(absoluteEntry, "utf8");
  const isStdlibEntry = path.dirname(absoluteEntry) === path.resolve(STDLIB_DIR);
  const entry = parseFile(absoluteEntry, text, isStdlibEntry, path.basename(absoluteEntry, ".vlmp"));
  visit(entry);
  // The prelude (block schemas, common host functions) is visible to every spec without a `use`.
  for (const name of preludeModules) {
    const absolute = path.join(STDLIB_DIR, `${name}.vlmp`);
    if (modules.has(absolute) || !existsSync(absolute)) continue;
    visit(parseFile(absolute, readFileSync(absolute, "utf8"), true, name));
  }
  return { entry, modules, diagnostics, sources };
}

type Resolution = { path: string; isStdlib: boolean; name: string } | { error: Diagnostic };

function resolveUse(decl: UseDecl, from: Module): Resolution {
  if (decl.module.kind === "String") {
    const target = path.resolve(path.dirname(from.path), decl.module.value);
    if (!existsSync(target)) {
      return {
        error: diagnostic("V2009", decl.module.span, `imported file '${decl.module.value}' not found`, {
          notes: [`looked for ${displayPathOf(target)}`],
          help: "paths in `use` are relative to the file that contains them",
        }),
      };
    }
    return { path: target, isStdlib: false, name: path.basename(target, ".vlmp") };
  }
  const name = decl.module.name;
  const target = path.join(STDLIB_DIR, `${name}.vlmp`);
  if (!existsSync(target)) {
    return { error: unknownModule(name, decl.module.span) };
  }
  return { path: target, isStdlib: true, name };
}

function unknownModule(name: string, span: Span): Diagnostic {
  const help = didYouMean(name, stdlibModuleNames());
  return diagnostic("V2002", span, `unknown module '${name}'`, {
    notes: [`stdlib modules: ${stdlibModuleNames().join(", ")}`],
    help: help ?? 'to import a file of your own, write its relative path in quotes: use "./mine.vlmp"',
  });
}
