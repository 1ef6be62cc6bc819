// Checks a pipeline against the block schemas declared in stdlib (which blocks may appear where, which
// settings each takes, their types, defaults and sane ranges) and resolves it: inheritance merged,
// defaults filled in, every value evaluated. The result is what the Pipeline IR is built from.

import type {
  AdaptStmt,
  Attribute,
  Block,
  Expr,
  Identifier,
  Param,
  PipelineDecl,
  PipelineItem,
  Span,
} from "../grammar/ast.ts";
import { type Code, type Diagnostic, diagnostic } from "./diagnostics.ts";
import { Evaluator, type RefEnv } from "./evaluate.ts";
import type { Module } from "./modules.ts";
import type { Override } from "./overrides.ts";
import type { Definition, Scopes } from "./scope.ts";
import { resolveSite } from "./sites.ts";
import { didYouMean } from "./suggest.ts";
import { substitute, symbolicDim, unifyTensorTypes } from "./tensor-types.ts";
import { ANY, type Dim, type Type, typeFromAnnotation } from "./types.ts";
import { type Value, valuesEqual } from "./values.ts";

/** A pipeline item together with the module it was written in (inherited items keep their own module). */
interface SourcedItem {
  item: PipelineItem;
  module: Module;
  /** Items of a block merged across the inheritance chain. */
  children?: SourcedItem[];
  /** Written as a `key=value` override rather than in a spec. */
  fromOverride?: boolean;
}

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
  const reportSame: MergeReporter = {
    sameValue: (child, parent) => {
      diagnostics.push(
        diagnostic("V7003", child.item.span, "this sets the value the setting already has", {
          related: [{ span: parent.item.span, message: "already set to the same value here" }],
          help: "remove the line; it changes nothing",
        }),
      );
    },
    twice: (second, first) => {
      const { item } = second;
      const what =
        item.kind === "Attribute"
          ? `'${item.name.name}' is set twice`
          : item.kind === "Block"
            ? `block '${item.name.name}${item.label ? ` ${item.label.name}` : ""}' appears twice`
            : "the same adapter is attached twice";
      diagnostics.push(
        diagnostic("V3004", item.kind === "Adapt" ? item.span : item.name.span, what, {
          related: [{ span: first.item.span, message: "first here" }],
          help: item.kind === "Block" ? "merge the two blocks into one" : "keep one of them",
        }),
      );
    },
  };
  let items = mergeChain(chain, reportSame);
  for (const override of overrides) {
    const layer = overrideItem(override, module, schema, scopes, diagnostics);
    if (layer) items = mergeItems(items, [layer], reportSame);
  }
  const evaluator = new Evaluator(scopes, diagnostics);
  const checker = new BlockChecker(scopes, evaluator, diagnostics);
  const root = checker.check("pipeline", undefined, decl.name.span, items, schema, []);
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

/** The pipeline and its ancestors, child first; undefined when the chain is broken (already reported). */
function inheritanceChain(
  decl: PipelineDecl,
  module: Module,
  scopes: Scopes,
  diagnostics: Diagnostic[],
): { decl: PipelineDecl; module: Module }[] | undefined {
  const chain = [{ decl, module }];
  let current = { decl, module };
  while (current.decl.extends) {
    const parentName = current.decl.extends;
    const def = scopes.lookup(current.module, parentName.name);
    if (def?.kind !== "pipeline") {
      const candidates = [
        ...scopes.scopeOf(current.module).own.values(),
        ...[...scopes.scopeOf(current.module).imported.values()].map((i) => i.def),
      ]
        .filter((d) => d.kind === "pipeline")
        .map((d) => d.name);
      const help = didYouMean(parentName.name, candidates);
      diagnostics.push(
        diagnostic("V2007", parentName.span, `no pipeline '${parentName.name}' to extend`, {
          help: help ?? 'define it in this file or import it: use "./base.vlmp".{name}',
        }),
      );
      return undefined;
    }
    if (chain.some((c) => c.decl === def.decl)) {
      diagnostics.push(
        diagnostic(
          "V2008",
          parentName.span,
          `pipeline inheritance cycle: ${[...chain.map((c) => c.decl.name.name), def.name].join(" → ")}`,
        ),
      );
      return undefined;
    }
    current = { decl: def.decl, module: def.module };
    chain.push(current);
  }
  return chain;
}

/**
 * Merges items from the root ancestor down: a child's attribute replaces the parent's of the same name,
 * blocks with the same name and label merge recursively, and an `adapt` of an adapter the parent
 * already adapts replaces it (others are added).
 */
/** Reports an item that repeats the value it replaces, and an item written twice in one place. */
interface MergeReporter {
  sameValue(child: SourcedItem, parent: SourcedItem): void;
  twice(second: SourcedItem, first: SourcedItem): void;
}

function mergeChain(
  chain: { decl: PipelineDecl; module: Module }[],
  reportSame: MergeReporter,
): SourcedItem[] {
  let merged: SourcedItem[] = [];
  for (const { decl, module } of [...chain].reverse()) {
    merged = mergeItems(
      merged,
      decl.items.map((item) => sourced(item, module)),
      reportSame,
    );
  }
  return merged;
}

function sourced(item: PipelineItem, module: Module): SourcedItem {
  return item.kind === "Block"
    ? { item, module, children: item.items.map((i) => sourced(i, module)) }
    : { item, module };
}

function itemKey(item: PipelineItem): string {
  switch (item.kind) {
    case "Attribute":
      return `attr:${item.name.name}`;
    case "Block":
      return `block:${item.name.name}:${item.label?.name ?? ""}`;
    case "Adapt": {
      const callee = item.adapter.kind === "Call" ? item.adapter.callee : item.adapter;
      return `adapt:${callee.kind === "Name" ? callee.name : callee.kind === "Member" ? callee.property.name : ""}`;
    }
  }
}

function mergeItems(parent: SourcedItem[], child: SourcedItem[], reportSame: MergeReporter): SourcedItem[] {
  const out = [...parent];
  const inThisLayer = new Map<string, SourcedItem>();
  for (const c of child) {
    const twice = inThisLayer.get(itemKey(c.item));
    if (twice) {
      reportSame.twice(c, twice);
      continue;
    }
    inThisLayer.set(itemKey(c.item), c);
    const index = out.findIndex((p) => itemKey(p.item) === itemKey(c.item));
    if (index < 0) {
      out.push(c);
      continue;
    }
    const p = out[index]!;
    if (
      p.item.kind === "Attribute" &&
      c.item.kind === "Attribute" &&
      sameExpression(p.item.value, c.item.value)
    ) {
      reportSame.sameValue(c, p);
    }
    // Only an override that adds a setting can be checked against the declared default.
    out[index] =
      p.children && c.children
        ? { item: c.item, module: c.module, children: mergeItems(p.children, c.children, reportSame) }
        : { ...c, fromOverride: false };
  }
  return out;
}

/** Structural equality of two expressions, ignoring where they were written. */
function sameExpression(a: Expr, b: Expr): boolean {
  const strip = (_key: string, value: unknown) =>
    _key === "span" || _key === "recovered" ? undefined : value;
  return JSON.stringify(a, strip) === JSON.stringify(b, strip);
}

/**
 * Turns an override (`train.epochs=10`) into a pipeline item nested in the blocks its path names,
 * walking the block schemas so that a wrong segment is reported at its place in the override.
 */
function overrideItem(
  override: Override,
  module: Module,
  rootSchema: Schema,
  scopes: Scopes,
  diagnostics: Diagnostic[],
): SourcedItem | undefined {
  const segments = override.path;
  let schema = rootSchema;
  const blocks: { name: Identifier; label?: Identifier }[] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const isLast = i === segments.length - 1;
    const setting = schema.decl.settings.find((p) => p.name.name === segment.name);
    const opensRest = schema.decl.rest !== undefined;
    if (isLast && (setting || opensRest)) break;
    const contained = schema.decl.contains.some((c) => c.name === segment.name);
    const child = contained ? scopes.blockSchemas.get(segment.name) : undefined;
    if (!child || isLast) {
      const candidates = [
        ...schema.decl.settings.map((p) => p.name.name),
        ...schema.decl.contains.map((c) => c.name),
      ];
      const where = schema.name === "pipeline" ? "a pipeline" : `block '${schema.name}'`;
      if (child && isLast) {
        diagnostics.push(
          diagnostic("V6002", segment.span, `'${segment.name}' is a block, not a setting`, {
            help: `name one of its settings: ${segment.name}.${child.decl.settings[0]?.name.name ?? "setting"}=…`,
          }),
        );
        return undefined;
      }
      const help = didYouMean(segment.name, candidates);
      const message = setting
        ? `'${segment.name}' is a setting, not a block`
        : `${where} has no setting or block '${segment.name}'`;
      diagnostics.push(
        diagnostic("V6002", segment.span, message, {
          ...(help ? { help } : { notes: [`settings and blocks here: ${candidates.join(", ")}`] }),
        }),
      );
      return undefined;
    }
    if (child.decl.labelled) {
      const label = segments[i + 1];
      if (!label || i + 1 === segments.length - 1) {
        diagnostics.push(
          diagnostic(
            "V6002",
            segment.span,
            `block '${segment.name}' is labelled: name the label, e.g. ${segment.name}.test.SETTING`,
          ),
        );
        return undefined;
      }
      blocks.push({ name: segment, label });
      i++;
    } else {
      blocks.push({ name: segment });
    }
    schema = child;
  }
  const name = segments[segments.length - 1]!;
  let item: SourcedItem = {
    item: { kind: "Attribute", name, value: override.value, span: override.span },
    module,
    fromOverride: true,
  };
  for (const block of blocks.reverse()) {
    const node: Block = {
      kind: "Block",
      name: block.name,
      ...(block.label ? { label: block.label } : {}),
      items: [item.item],
      span: override.span,
    };
    item = { item: node, module, children: [item] };
  }
  return item;
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
