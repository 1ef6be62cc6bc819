// Lint rules a researcher would thank us for: they flag specs that run but probably do not do what was
// meant. Each is a warning with its own code (7xxx); `--deny-warnings` makes them fail CI.

import type { ResolvedBlock, ResolvedPipeline } from "./check-pipeline.ts";
import { type Diagnostic, diagnostic } from "./diagnostics.ts";
import type { ModuleScope } from "./scope.ts";
import type { Value } from "./values.ts";

/** Imports nothing in the file refers to (anywhere: pipelines, definitions, defaults of declarations). */
export function lintModule(scope: ModuleScope, diagnostics: Diagnostic[]): void {
  const unusedSoFar = [...scope.imported.keys()].filter((name) => !scope.used.has(name));
  if (unusedSoFar.length === 0) return;
  const referenced = namesReferenced(scope.module.ast.items.filter((item) => item.kind !== "Use"));
  for (const [name, { via }] of scope.imported) {
    if (scope.used.has(name) || referenced.has(name)) continue;
    const span = "kind" in via ? via.span : via;
    diagnostics.push(
      diagnostic("V7001", span, `'${name}' is imported but never used`, {
        help: "remove it from the `use` line",
      }),
    );
  }
}

/** Every bare name and the head of every dotted path in a subtree of the AST. */
function namesReferenced(node: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(node)) {
    for (const item of node) namesReferenced(item, into);
  } else if (node && typeof node === "object") {
    const record = node as Record<string, unknown>;
    if (record["kind"] === "Name") into.add(record["name"] as string);
    for (const key in record) if (key !== "span") namesReferenced(record[key], into);
  }
  return into;
}

export function lintPipeline(pipeline: ResolvedPipeline, diagnostics: Diagnostic[]): void {
  walk(pipeline.root, (block) => {
    lintEvaluation(block, diagnostics);
  });
  lintTrainTestOverlap(pipeline.root, diagnostics);
  lintUntrainedAdapters(pipeline.root, diagnostics);
}

function walk(block: ResolvedBlock, visit: (block: ResolvedBlock) => void): void {
  visit(block);
  for (const child of block.blocks) walk(child, visit);
}

function lintEvaluation(block: ResolvedBlock, diagnostics: Diagnostic[]): void {
  if (block.name !== "evaluate") return;
  const metrics = block.settings.get("metrics");
  if (metrics?.value.kind === "list" && metrics.value.items.length === 0) {
    diagnostics.push(
      diagnostic("V7004", metrics.span ?? block.span, "this evaluation computes no metric", {
        help: "list at least one, e.g. metrics = [accuracy()]",
      }),
    );
  }
}

/** The file or folder a source reads, from the first path-like argument of its call. */
function sourceLocation(value: Value | undefined): string | undefined {
  if (value?.kind !== "call") return undefined;
  for (const key of ["file", "root", "path"]) {
    const arg = value.args[key];
    if (arg?.kind === "string") return arg.value;
  }
  return undefined;
}

/**
 * Training data read from the same place as test data, unless the data block declares the setting
 * transductive (UEO's Office lists are, by design).
 */
function lintTrainTestOverlap(root: ResolvedBlock, diagnostics: Diagnostic[]): void {
  const data = root.blocks.find((b) => b.name === "data");
  if (!data) return;
  const transductive = data.settings.get("transductive")?.value;
  if (transductive?.kind === "bool" && transductive.value) return;
  const train = data.settings.get("train");
  const test = data.settings.get("test");
  const trainAt = sourceLocation(train?.value);
  if (!trainAt || trainAt !== sourceLocation(test?.value)) return;
  if (JSON.stringify(train?.value) !== JSON.stringify(test?.value)) return;
  diagnostics.push(
    diagnostic("V7006", test?.span ?? data.span, `test data is the training data ('${trainAt}')`, {
      ...(train?.span ? { related: [{ span: train.span, message: "training data read here" }] } : {}),
      help: "point test at a held-out split, or set `transductive = true` in the data block if this is intended",
    }),
  );
}

/** Adapters attached to a pipeline that never trains: their trainable parameters stay at their initial values. */
function lintUntrainedAdapters(root: ResolvedBlock, diagnostics: Diagnostic[]): void {
  let trains = false;
  walk(root, (b) => {
    if (b.name === "train" || b.name === "finetune" || b.name === "fit") trains = true;
  });
  if (trains) return;
  walk(root, (b) => {
    for (const adapter of b.adapters) {
      const name = adapter.value.kind === "call" ? adapter.value.callee : "adapter";
      diagnostics.push(
        diagnostic(
          "V7007",
          adapter.span,
          `'${name}' adds trainable parameters, but no train block uses them`,
          {
            help: "add a train block, or drop the adapter for a zero-shot pipeline",
          },
        ),
      );
    }
  });
}
