// Checks a pipeline against the block schemas declared in stdlib (which blocks may appear where, which
// settings each takes, their types, defaults and sane ranges) and resolves it: inheritance merged,
// defaults filled in, every value evaluated. The result is what the Pipeline IR is built from.

import type { AdaptStmt, Attribute, Block, Identifier, Param, PipelineDecl, Span } from "../grammar/ast.ts";
import { type Code, type Diagnostic, diagnostic } from "./diagnostics.ts";
import { Evaluator, type RefEnv } from "./evaluate.ts";
import type { Module } from "./modules.ts";
import type { Override } from "./overrides.ts";
import { inheritanceChain, layeredItems, type SourcedItem } from "./pipeline-layers.ts";
import type { Definition, Scopes } from "./scope.ts";
import { resolveSite } from "./sites.ts";
import { didYouMean } from "./suggest.ts";
import { substitute, symbolicDim, unifyTensorTypes } from "./tensor-types.ts";
import { ANY, type Dim, type Type, typeFromAnnotation } from "./types.ts";
import { type Value, valuesEqual } from "./values.ts";

export interface ResolvedSetting {
  value: Value;
  type: Type;
  /** Where the value was written; absent when it is the declared default. */
  span?: Span;
  module?: Module;
  param?: Param;
}

export interface ResolvedBlock {
  name: string;
  label?: string;
  span: Span;
  settings: Map<string, ResolvedSetting>;
  adapters: { value: Value; span: Span }[];
  blocks: ResolvedBlock[];
}

export interface ResolvedPipeline {
  name: string;
  decl: PipelineDecl;
  module: Module;
  /** Names of the pipelines it extends, nearest first. */
  ancestry: string[];
  root: ResolvedBlock;
  usedDefinitions: Map<string, Definition>;
  paths: Evaluator["paths"];
}

export function checkPipeline(
  decl: PipelineDecl,
  module: Module,
  scopes: Scopes,
  diagnostics: Diagnostic[],
  overrides: readonly Override[] = [],
): ResolvedPipeline | undefined {
  const chain = inheritanceChain(decl, module, scopes, diagnostics);
  if (!chain) return undefined;
  const schema = scopes.blockSchemas.get("pipeline");
  if (!schema) {
    diagnostics.push(diagnostic("V9001", decl.name.span, "the stdlib declares no `block pipeline` schema"));
    return undefined;
  }
  const layered = layeredItems(chain, module, schema, scopes, diagnostics, overrides);
  const evaluator = new Evaluator(scopes, diagnostics);
  const checker = new BlockChecker(scopes, evaluator, diagnostics);
  const root = checker.check("pipeline", undefined, decl.name.span, layered, schema, []);
  return {
    name: decl.name.name,
    decl,
    module,
    ancestry: chain.slice(1).map((c) => c.decl.name.name),
    root,
    usedDefinitions: evaluator.usedDefinitions,
    paths: evaluator.paths,
  };
}

type Schema = Definition & { kind: "block" };

class BlockChecker {
  constructor(
    private readonly scopes: Scopes,
    private readonly evaluator: Evaluator,
    private readonly diagnostics: Diagnostic[],
  ) {}

  check(
    name: string,
    label: Identifier | undefined,
    span: Span,
    items: SourcedItem[],
    schema: Schema,
    outer: ResolvedBlock[],
    parent?: ResolvedBlock,
  ): ResolvedBlock {
    const block: ResolvedBlock = {
      name,
      ...(label ? { label: label.name } : {}),
      span,
      settings: new Map(),
      adapters: [],
      blocks: [],
    };
    // Registered before its items are checked, so that its own earlier settings can be referred to by
    // their full path (`data.train` inside `data`).
    parent?.blocks.push(block);
    if (schema.decl.labelled && !label) {
      this.report("V3003", span, `block '${name}' needs a label, e.g. \`${name} test { … }\``);
    } else if (!schema.decl.labelled && label) {
      this.report("V3001", label.span, `block '${name}' takes no label`);
    }
    const settings = new Map(schema.decl.settings.map((p) => [p.name.name, p]));
    const env = this.refEnv([...outer, block], schema);
    const seen = new Map<string, Span>();
    for (const sourcedItem of items) {
      const { item, module } = sourcedItem;
      if (item.recovered) continue;
      switch (item.kind) {
        case "Attribute":
          this.checkAttribute(
            item,
            module,
            settings,
            block,
            seen,
            env,
            schema,
            sourcedItem.fromOverride === true,
          );
          break;
        case "Block":
          this.checkNestedBlock(item, sourcedItem.children ?? [], schema, [...outer, block], block);
          break;
        case "Adapt":
          this.checkAdapt(item, module, schema, env, block);
          break;
      }
    }
    for (const param of schema.decl.settings) {
      if (block.settings.has(param.name.name)) continue;
      if (!param.default) {
        this.report("V3003", span, `${describe(name, label)} needs the setting '${param.name.name}'`, {
          related: [{ span: param.span, message: "declared here" }],
        });
        continue;
      }
      const declared = this.evaluator.paramType(param);
      const result = this.evaluator.evaluate(param.default, schema.module, env, declared);
      block.settings.set(param.name.name, {
        value: result.value,
        type: result.type.kind === "enum" ? declared : result.type,
        param,
      });
    }
    return block;
  }

  private checkAttribute(
    item: Attribute,
    module: Module,
    settings: Map<string, Param>,
    block: ResolvedBlock,
    seen: Map<string, Span>,
    env: RefEnv,
    schema: Schema,
    fromOverride: boolean,
  ): void {
    const name = item.name.name;
    const param = settings.get(name);
    if (!param && schema.decl.rest) {
      const type = typeFromAnnotation(schema.decl.rest.type, symbolicDim);
      const result = this.evaluator.evaluate(item.value, module, env, type);
      block.settings.set(name, { value: result.value, type: result.type, span: item.value.span, module });
      return;
    }
    if (!param) {
      const help = didYouMean(name, settings.keys());
      this.report("V3002", item.name.span, `${describe(block.name, undefined)} has no setting '${name}'`, {
        ...(help ? { help } : { notes: [`its settings: ${[...settings.keys()].join(", ") || "none"}`] }),
      });
      this.evaluator.evaluate(item.value, module, env);
      return;
    }
    const previous = seen.get(name);
    if (previous && previous.file === item.span.file) {
      this.report("V3004", item.name.span, `'${name}' is set twice in this block`, {
        related: [{ span: previous, message: "first set here" }],
      });
      return;
    }
    seen.set(name, item.name.span);
    const declared = this.evaluator.paramType(param);
    const result = this.evaluator.evaluate(item.value, module, env, declared);
    if (result.value.kind !== "error")
      this.evaluator.checkRange(param, result.value, item.value.span, schema.module);
    if (fromOverride && param.default && result.value.kind !== "error") {
      const fallback = this.evaluator.evaluate(param.default, schema.module, env, declared).value;
      if (valuesEqual(fallback, result.value)) {
        this.report("V7003", item.value.span, `this sets '${name}' to its default`, {
          related: [{ span: param.span, message: "the default is declared here" }],
          help: "drop the override; it changes nothing",
        });
      }
    }
    // An enum setting keeps its declared type, so that comparisons read the other side as one of its options.
    const type = result.type.kind === "enum" ? declared : result.type;
    block.settings.set(name, { value: result.value, type, span: item.value.span, module, param });
  }

  private checkNestedBlock(
    item: Block,
    children: SourcedItem[],
    parentSchema: Schema,
    outer: ResolvedBlock[],
    parent: ResolvedBlock,
  ): void {
    const name = item.name.name;
    const schema = this.scopes.blockSchemas.get(name);
    const allowed = parentSchema.decl.contains.map((c) => c.name);
    if (!schema) {
      const help = didYouMean(name, [...allowed, ...parent.settings.keys()]);
      this.report("V3005", item.name.span, `unknown block '${name}'`, {
        ...(help ? { help } : { notes: [`blocks allowed here: ${allowed.join(", ") || "none"}`] }),
      });
      return;
    }
    if (!allowed.includes(name)) {
      this.report("V3006", item.name.span, `block '${name}' is not allowed inside '${parentSchema.name}'`, {
        notes: [`blocks allowed here: ${allowed.join(", ") || "none"}`],
      });
      return;
    }
    const duplicate = parent.blocks.find((b) => b.name === name && b.label === item.label?.name);
    if (duplicate) {
      this.report("V3004", item.name.span, `${describe(name, item.label)} appears twice`, {
        related: [{ span: duplicate.span, message: "first here" }],
      });
      return;
    }
    this.check(name, item.label, item.name.span, children, schema, outer, parent);
  }

  private checkAdapt(
    item: AdaptStmt,
    module: Module,
    schema: Schema,
    env: RefEnv,
    block: ResolvedBlock,
  ): void {
    if (
      !schema.decl.settings.some((p) => p.name.name === "adapters") &&
      !schema.decl.contains.some((c) => c.name === "adapt")
    ) {
      if (schema.name !== "pipeline" && schema.name !== "stage" && schema.name !== "tasks") {
        this.report("V3006", item.span, `\`adapt\` is not allowed inside '${schema.name}'`, {
          help: "attach adapters at the top of the pipeline (or of a stage)",
        });
        return;
      }
    }
    const result = this.evaluator.evaluate(item.adapter, module, env, { kind: "category", name: "adapter" });
    if (result.value.kind !== "error") block.adapters.push({ value: result.value, span: item.adapter.span });
  }

  /**
   * What names mean inside a block: settings of this and enclosing blocks (`backbone`, `data.train`),
   * nested blocks' settings by dotted path, and the values the block schema `provides` at run time.
   */
  private refEnv(stack: ResolvedBlock[], schema: Schema): RefEnv {
    const provided = new Map<string, Type>();
    for (const p of schema.decl.provides ?? []) {
      provided.set(p.name.name, p.type ? typeFromAnnotation(p.type, symbolicDim) : ANY);
    }
    const enclosingProvided = (): Map<string, Type> => {
      const all = new Map<string, Type>();
      for (const b of stack) {
        const s = this.scopes.blockSchemas.get(b.name);
        for (const p of s?.decl.provides ?? [])
          all.set(p.name.name, p.type ? typeFromAnnotation(p.type, symbolicDim) : ANY);
      }
      for (const [k, v] of provided) all.set(k, v);
      for (const b of stack) for (const a of b.adapters) this.adapterProvides(a.value, all);
      return all;
    };
    const lookupIn = (blocks: ResolvedBlock[], path: string[]): { path: string; type: Type } | undefined => {
      for (let i = blocks.length - 1; i >= 0; i--) {
        const found = resolveIn(blocks[i]!, path);
        if (found) return found;
      }
      return undefined;
    };
    // A setting not yet evaluated (written later, or left to its default) is known by its declared type.
    const lookupDeclared = (path: string[]): { path: string; type: Type } | undefined => {
      for (let i = stack.length - 1; i >= 0; i--) {
        const blockSchema = this.scopes.blockSchemas.get(stack[i]!.name);
        if (!blockSchema) continue;
        const setting = blockSchema.decl.settings.find((p) => p.name.name === path[0]);
        if (setting && path.length === 1) return { path: path[0]!, type: this.evaluator.paramType(setting) };
        if (path.length === 2 && blockSchema.decl.contains.some((c) => c.name === path[0])) {
          const child = this.scopes.blockSchemas.get(path[0]!);
          const inner = child?.decl.labelled
            ? undefined
            : child?.decl.settings.find((p) => p.name.name === path[1]);
          if (inner) return { path: path.join("."), type: this.evaluator.paramType(inner) };
        }
      }
      return undefined;
    };
    const resolveSiteInBackbone = (path: string[]) => {
      const backbone = stack[0]?.settings.get("backbone")?.value;
      const def = backbone?.kind === "call" ? this.evaluator.usedDefinitions.get(backbone.callee) : undefined;
      return def?.kind === "model" ? resolveSite(def, path, this.scopes) : undefined;
    };
    return {
      resolveSite: resolveSiteInBackbone,
      lookup: (path) => {
        const providedType = enclosingProvided().get(path.join("."));
        if (providedType) return { path: path.join("."), type: providedType };
        return lookupIn(stack, path) ?? lookupDeclared(path);
      },
      names: () => [
        ...enclosingProvided().keys(),
        ...stack.flatMap((b) => [...b.settings.keys(), ...b.blocks.map((c) => c.name)]),
      ],
    };
  }

  /**
   * What an attached adapter adds to the provided values: a hook `at logits(...) -> [samples, B, C]`
   * changes the type of `logits`, and each `let` of a hook is provided as `<adapter>_<name>`.
   */
  private adapterProvides(value: Value, into: Map<string, Type>): void {
    if (value.kind !== "call") return;
    const def = this.evaluator.usedDefinitions.get(value.callee);
    if (def?.kind !== "adapter") return;
    const sizes = new Map<string, number>();
    for (const [name, arg] of Object.entries(value.args))
      if (arg.kind === "number") sizes.set(name, arg.value);
    for (const item of def.decl.items) {
      if (item.kind !== "Hook" || item.target === "forward") continue;
      if (item.target.kind === "Name" && item.returns) {
        const returns = typeFromAnnotation(item.returns, symbolicDim);
        const before = into.get(item.target.name);
        const input = item.params[0]?.type ? typeFromAnnotation(item.params[0].type, symbolicDim) : undefined;
        if (returns.kind === "tensor" && before?.kind === "tensor" && input?.kind === "tensor") {
          // The hook's own symbols (`B`) are renamed to the block's (`N`) by matching its input to the site.
          const bindings = new Map<string, Dim>();
          for (const [name, size] of sizes) bindings.set(name, { kind: "size", value: size });
          if (!unifyTensorTypes(input, before, bindings))
            into.set(item.target.name, substitute(returns, bindings));
        }
      }
      for (const stmt of item.body) if (stmt.kind === "Let") into.set(`${def.name}_${stmt.name.name}`, ANY);
    }
  }

  private report(code: Code, span: Span, message: string, options = {}): void {
    this.diagnostics.push(diagnostic(code, span, message, options));
  }
}

function resolveIn(block: ResolvedBlock, path: string[]): { path: string; type: Type } | undefined {
  const [head, ...rest] = path;
  const setting = block.settings.get(head!);
  if (setting && rest.length === 0) return { path: head!, type: setting.type };
  // Per-sample constants are visible by their bare names after the constants block that computes them.
  if (rest.length === 0) {
    for (const constants of block.blocks.filter((b) => b.name === "constants")) {
      const constant = constants.settings.get(head!);
      if (constant && !constant.param) return { path: `constants.${head}`, type: perBatch(constant.type) };
    }
  }
  const child = block.blocks.find((b) => b.name === head || b.label === head);
  // A block named by itself (`using = erm`): its type is `<block>_ref`.
  if (child && rest.length === 0) {
    return {
      path: child.label ? `${child.name}.${child.label}` : child.name,
      type: { kind: "category", name: `${child.name}_ref` },
    };
  }
  if (child && rest.length > 0) {
    const inner = resolveIn(child, rest);
    if (inner)
      return {
        path: `${child.label ? `${child.name}.${child.label}` : child.name}.${inner.path}`,
        type: inner.type,
      };
  }
  return undefined;
}

/**
 * A per-sample constant is computed over a whole source ([S, …]); a block that runs in batches on that
 * source sees the current batch's rows ([N, …]).
 */
function perBatch(type: Type): Type {
  if (type.kind !== "tensor" || type.dims[0]?.kind !== "symbol" || type.dims[0].name !== "S") return type;
  return { ...type, dims: [{ kind: "symbol", name: "N" }, ...type.dims.slice(1)] };
}

function describe(name: string, label: Identifier | undefined): string {
  return label ? `block '${name} ${label.name}'` : `block '${name}'`;
}
