// The layers a pipeline is made of, merged into one list of items: its ancestors' (`extends`), its own,
// then the command line's and YAML files' overrides. Each item keeps the module it was written in, so
// names in inherited items resolve where they were written.

import type { Block, Expr, Identifier, PipelineDecl, PipelineItem } from "../grammar/ast.ts";
import { type Diagnostic, diagnostic } from "./diagnostics.ts";
import type { Module } from "./modules.ts";
import type { Override } from "./overrides.ts";
import type { Definition, Scopes } from "./scope.ts";
import { didYouMean } from "./suggest.ts";

export /** A pipeline item together with the module it was written in (inherited items keep their own module). */
interface SourcedItem {
  item: PipelineItem;
  module: Module;
  /** Items of a block merged across the inheritance chain. */
  children?: SourcedItem[];
  /** Written as a `key=value` override rather than in a spec. */
  fromOverride?: boolean;
}

type Schema = Definition & { kind: "block" };

/** The merged items of a pipeline (its inheritance chain, child first, and the overrides on top). */
export function layeredItems(
  chain: { decl: PipelineDecl; module: Module }[],
  module: Module,
  schema: Schema,
  scopes: Scopes,
  diagnostics: Diagnostic[],
  overrides: readonly Override[],
): SourcedItem[] {
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
  return items;
}

/** The pipeline and its ancestors, child first; undefined when the chain is broken (already reported). */
export function inheritanceChain(
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
