// Lint rules a researcher would thank us for: they flag specs that run but probably do not do what was
// meant. Each is a warning with its own code (7xxx); `--deny-warnings` makes them fail CI.

import type { Expr } from "../grammar/ast.ts";
import type { ResolvedBlock, ResolvedPipeline } from "./check-pipeline.ts";
import { type Diagnostic, diagnostic } from "./diagnostics.ts";
import { dottedPath } from "./dotted-path.ts";
import type { ModuleScope, Scopes } from "./scope.ts";
import { siteReaches } from "./site-reach.ts";
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

export function lintPipeline(pipeline: ResolvedPipeline, scopes: Scopes, diagnostics: Diagnostic[]): void {
  walk(pipeline.root, (block) => {
    lintEvaluation(block, diagnostics);
  });
  lintTrainTestOverlap(pipeline.root, diagnostics);
  lintUntrainedAdapters(pipeline.root, diagnostics);
  lintAdaptersOffTheObjective(pipeline, scopes, diagnostics);
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

/**
 * An adapter whose every attachment point is upstream of none of the values a training objective reads:
 * its parameters get no gradient. Only reported when the backbone's forward answers the question for
 * every pair; an unknown stays silent.
 */
function lintAdaptersOffTheObjective(
  pipeline: ResolvedPipeline,
  scopes: Scopes,
  diagnostics: Diagnostic[],
): void {
  const backboneValue = pipeline.root.settings.get("backbone")?.value;
  const backbone =
    backboneValue?.kind === "call" ? pipeline.usedDefinitions.get(backboneValue.callee) : undefined;
  if (backbone?.kind !== "model") return;
  const visit = (block: ResolvedBlock, adapters: ResolvedBlock["adapters"]) => {
    const inScope = [...adapters, ...block.adapters];
    const objective = block.settings.get("objective");
    if (objective && (block.name === "train" || block.name === "finetune")) {
      const inputs = providedInputs(objective.value);
      // Values an adapter's hooks provide (`clap4clip_mu`) come from the adapter itself: not analysed.
      const shortNames = inScope.map((a) =>
        a.value.kind === "call" ? a.value.callee.split(".").pop()! : "",
      );
      if (inputs.some((i) => shortNames.some((n) => n && i.startsWith(`${n}_`)))) return;
      for (const adapter of inScope) {
        const targets = adapterTargets(adapter.value, pipeline);
        if (!targets || targets.length === 0 || inputs.length === 0) continue;
        const answers = targets.flatMap((t) => inputs.map((i) => siteReaches(backbone, t, [i], scopes)));
        if (answers.some((a) => a !== false)) continue;
        const name = adapter.value.kind === "call" ? adapter.value.callee : "adapter";
        diagnostics.push(
          diagnostic(
            "V7007",
            adapter.span,
            `'${name}' trains parameters no input of this objective depends on`,
            {
              notes: [
                `it changes ${targets.map((t) => t.join(".")).join(", ")}; the objective of '${block.name}' reads ${inputs.join(", ")}`,
              ],
              ...(objective.span ? { related: [{ span: objective.span, message: "the objective" }] } : {}),
              help: "attach the adapter where the objective's inputs come from, or use an objective that reads its output",
            },
          ),
        );
      }
    }
    for (const child of block.blocks) visit(child, inScope);
  };
  visit(pipeline.root, []);
}

/**
 * The runtime-provided values an objective reads (per-sample constants carry no gradient). A `paired_`
 * value is the same site computed on the paired stream (CFR's calibration batch).
 */
function providedInputs(value: Value, into: string[] = []): string[] {
  switch (value.kind) {
    case "ref": {
      const name = value.path.replace(/^paired_/, "");
      if (!value.path.includes(".") && !into.includes(name)) into.push(name);
      break;
    }
    case "call":
      for (const arg of Object.values(value.args)) providedInputs(arg, into);
      break;
    case "apply":
      for (const arg of [...value.args, ...Object.values(value.named)]) providedInputs(arg, into);
      break;
    case "op":
    case "list":
      for (const item of value.kind === "op" ? value.operands : value.items) providedInputs(item, into);
      break;
    default:
      break;
  }
  return into;
}

/** Where an adapter acts: its hooks' sites and the sites it unfreezes; undefined when it has no parameters. */
function adapterTargets(value: Value, pipeline: ResolvedPipeline): string[][] | undefined {
  if (value.kind !== "call") return undefined;
  const def = pipeline.usedDefinitions.get(value.callee);
  if (def?.kind !== "adapter") return undefined;
  const targets: string[][] = [];
  let trains = false;
  for (const item of def.decl.items) {
    if (item.kind === "ParamDecl") trains ||= item.trainable !== false;
    if (item.kind === "Hook" && item.target !== "forward") {
      const path = sitePath(item.target);
      if (!path) return undefined;
      targets.push(path);
    }
    if (item.kind === "Unfreeze") {
      trains = true;
      const arg = item.target.kind === "Name" ? value.args[item.target.name] : undefined;
      if (arg?.kind !== "ref") return undefined;
      targets.push(arg.path.split("."));
    }
  }
  return trains ? targets : undefined;
}

/** `visual.blocks[1..depth].tokens` → visual.blocks.tokens: the repetition index does not change where. */
function sitePath(expr: Expr): string[] | undefined {
  if (expr.kind === "Index") return sitePath(expr.object);
  if (expr.kind === "Member") {
    const base = sitePath(expr.object);
    return base ? [...base, expr.property.name] : undefined;
  }
  return dottedPath(expr);
}
