// Name resolution across modules: what each module defines, what each `use` brings into scope, and the
// prelude every spec sees without importing (the pipeline block schemas and the common host functions).

import type {
  AdapterDecl,
  BlockSchemaDecl,
  ExternDecl,
  FunctionDecl,
  Identifier,
  ModelDecl,
  PipelineDecl,
  Span,
  TopLevel,
} from "../grammar/ast.ts";
import { type Diagnostic, diagnostic } from "./diagnostics.ts";
import type { Module, Program } from "./modules.ts";
import { didYouMean } from "./suggest.ts";

export type Definition =
  | { kind: "function"; name: string; decl: FunctionDecl; module: Module }
  | { kind: "model"; name: string; decl: ModelDecl; module: Module }
  | { kind: "adapter"; name: string; decl: AdapterDecl; module: Module }
  | { kind: "extern"; name: string; decl: ExternDecl; module: Module }
  | { kind: "block"; name: string; decl: BlockSchemaDecl; module: Module }
  | { kind: "pipeline"; name: string; decl: PipelineDecl; module: Module }
  | { kind: "module"; name: string; module: Module };

/** The fully qualified name a definition has in the IR: `losses.ueo`, `clip.vit_b16`. */
export function qualifiedName(def: Definition): string {
  return def.kind === "module" ? def.module.name : `${def.module.name}.${def.name}`;
}

export function describeDefinition(def: Definition): string {
  switch (def.kind) {
    case "function":
      return def.decl.keyword;
    case "block":
      return "block schema";
    default:
      return def.kind;
  }
}

/** Stdlib modules whose exports every spec sees without a `use`. */
export const PRELUDE_MODULES = ["pipeline", "data", "optim", "metrics"];

export interface ModuleScope {
  module: Module;
  /** Top-level definitions of this module, by name. */
  own: Map<string, Definition>;
  /** Names brought in by `use`, with the declaration that brought them (for unused-import lint). */
  imported: Map<string, { def: Definition; via: Identifier | Span }>;
  /** Names of imports that some expression resolved; the rest are unused. */
  used: Set<string>;
}

export class Scopes {
  readonly byModule = new Map<string, ModuleScope>();
  readonly prelude = new Map<string, Definition>();
  readonly blockSchemas = new Map<string, Definition & { kind: "block" }>();

  constructor(
    readonly program: Program,
    readonly diagnostics: Diagnostic[],
  ) {
    for (const module of program.modules.values()) this.byModule.set(module.path, this.collectOwn(module));
    for (const scope of this.byModule.values()) this.bindImports(scope);
    for (const scope of this.byModule.values()) {
      if (!scope.module.isStdlib || !PRELUDE_MODULES.includes(scope.module.name)) continue;
      for (const [name, def] of scope.own) {
        if (def.kind === "block") this.blockSchemas.set(name, def);
        else if (def.kind !== "pipeline") this.prelude.set(name, def);
      }
    }
  }

  scopeOf(module: Module): ModuleScope {
    return this.byModule.get(module.path)!;
  }

  /** Resolves a bare name as seen from `module`: own definitions, then imports, then the prelude. */
  lookup(module: Module, name: string): Definition | undefined {
    const scope = this.scopeOf(module);
    const own = scope.own.get(name);
    if (own) return own;
    const imported = scope.imported.get(name);
    if (imported) {
      scope.used.add(name);
      return imported.def;
    }
    return this.prelude.get(name);
  }

  /** A name the module defines or imports itself (not the prelude): such names shadow builtins in tensor bodies. */
  lookupExplicit(module: Module, name: string): Definition | undefined {
    const scope = this.scopeOf(module);
    return scope.own.get(name) ?? scope.imported.get(name)?.def;
  }

  /** Every name visible from `module`, for "did you mean". */
  visibleNames(module: Module): string[] {
    const scope = this.scopeOf(module);
    return [...scope.own.keys(), ...scope.imported.keys(), ...this.prelude.keys()];
  }

  /** Resolves `module.member` for a module definition. */
  member(moduleDef: Definition & { kind: "module" }, name: string): Definition | undefined {
    return this.byModule.get(moduleDef.module.path)?.own.get(name);
  }

  private collectOwn(module: Module): ModuleScope {
    const own = new Map<string, Definition>();
    for (const item of module.ast.items) {
      const def = item.recovered ? undefined : definitionOf(item, module);
      if (!def || def.name === "") continue;
      const previous = own.get(def.name);
      if (previous && previous.kind !== "module") {
        this.diagnostics.push(
          diagnostic("V2005", nameSpan(item), `'${def.name}' is defined twice in this file`, {
            related: [{ span: nameSpan(previous.decl), message: "first defined here" }],
            help: "rename one of them",
          }),
        );
        continue;
      }
      own.set(def.name, def);
    }
    return { module, own, imported: new Map(), used: new Set() };
  }

  /** A name imported twice, or imported over a definition of the file, is reported once, at the second. */
  private reportDuplicateImport(scope: ModuleScope, name: string, at: { span: Span }): boolean {
    const previous = scope.imported.get(name);
    const own = scope.own.get(name);
    if (!previous && !own) return false;
    const first = previous
      ? "kind" in previous.via
        ? previous.via.span
        : previous.via
      : nameSpan(own!.kind === "module" ? undefined : own!.decl);
    this.diagnostics.push(
      diagnostic(
        "V2005",
        at.span,
        previous ? `'${name}' is imported twice` : `'${name}' is imported but this file also defines it`,
        {
          ...(first
            ? { related: [{ span: first, message: previous ? "first imported here" : "defined here" }] }
            : {}),
          help: previous
            ? "remove one of the `use` lines"
            : "import it under another name with `as`, or rename the definition",
        },
      ),
    );
    return true;
  }

  private bindImports(scope: ModuleScope): void {
    for (const { decl, target } of scope.module.imports) {
      if (!target) continue;
      const targetScope = this.byModule.get(target.path);
      if (!targetScope) continue;
      if (!decl.names) {
        const bound = decl.alias?.name ?? target.name;
        if (this.reportDuplicateImport(scope, bound, decl.alias ?? decl.module)) continue;
        scope.imported.set(bound, {
          def: { kind: "module", name: bound, module: target },
          via: decl.alias ?? decl.module.span,
        });
        continue;
      }
      for (const name of decl.names) {
        const def = targetScope.own.get(name.name);
        if (!def || def.kind === "module") {
          const help = didYouMean(name.name, targetScope.own.keys());
          this.diagnostics.push(
            diagnostic("V2003", name.span, `module '${target.name}' has no definition '${name.name}'`, {
              ...(help
                ? { help }
                : { notes: [`it defines: ${[...targetScope.own.keys()].sort().join(", ")}`] }),
            }),
          );
          continue;
        }
        if (this.reportDuplicateImport(scope, name.name, name)) continue;
        scope.imported.set(name.name, { def, via: name });
      }
    }
  }
}

function definitionOf(item: TopLevel, module: Module): Definition | undefined {
  switch (item.kind) {
    case "Function":
      return { kind: "function", name: item.name.name, decl: item, module };
    case "Model":
      return { kind: "model", name: item.name.name, decl: item, module };
    case "Adapter":
      return { kind: "adapter", name: item.name.name, decl: item, module };
    case "Extern":
      return { kind: "extern", name: item.name.name, decl: item, module };
    case "BlockSchema":
      return { kind: "block", name: item.name.name, decl: item, module };
    case "Pipeline":
      return { kind: "pipeline", name: item.name.name, decl: item, module };
    case "Use":
      return undefined;
  }
}

function nameSpan(item: TopLevel): Span;
function nameSpan(item: TopLevel | undefined): Span | undefined;
function nameSpan(item: TopLevel | undefined): Span | undefined {
  if (!item) return undefined;
  return "name" in item ? item.name.span : item.span;
}
