// Lowers a pipeline's training objective (the `objective` setting of a `train` or `finetune` block: a
// call of a loss with arguments that refer to values the runtime provides, to per-sample constants and
// to settings) into a graph: one graph input per provided value or constant, shaped by the parameter it
// is passed to (dimension symbols sized from a table), settings folded in as constants.

import { GraphBuilder } from "../graph/builder.ts";
import { GraphError } from "../graph/errors.ts";
import type { Graph, Value } from "../graph/graph.ts";
import type { DType } from "../graph/ops.ts";
import type { IrBlock, PipelineIr } from "../ir.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "../values.ts";
import { LowerFault, LoweringError } from "./errors.ts";
import { Lowerer } from "./function.ts";
import { binaryOp, unaryOp } from "./operators.ts";
import { dimSymbols, evalDim, type ParamType, parseParamType } from "./param-types.ts";
import { describe, isTensorLike, type LValue, numberValue, toTensor } from "./values.ts";

/** A block with an `objective`, and where it sits in the pipeline. */
export interface ObjectiveBlock {
  /** Dotted path of block names and labels from the root: `tasks.train`, `calibrate.train`. */
  readonly path: string;
  readonly block: IrBlock;
  /** The enclosing blocks, outermost (the root) first. */
  readonly ancestors: readonly IrBlock[];
}

/** Selecting a block or sizing its inputs failed; `needed` lists the dimension symbols still missing. */
export class ObjectiveError extends Error {
  constructor(
    readonly kind: "selection" | "dims",
    message: string,
    readonly needed: readonly string[] = [],
  ) {
    super(message);
    this.name = "ObjectiveError";
  }
}

export function objectiveBlocks(ir: PipelineIr): ObjectiveBlock[] {
  const found: ObjectiveBlock[] = [];
  const walk = (block: IrBlock, ancestors: IrBlock[], path: string[]): void => {
    const here = [...path, block.label ?? block.block];
    if ("objective" in block.settings && block.settings["objective"] !== null) {
      found.push({ path: here.slice(1).join("."), block, ancestors });
    }
    for (const child of block.blocks) walk(child, [...ancestors, block], here);
  };
  walk(ir.root, [], []);
  return found;
}

/**
 * The objective block `selector` names: a dotted path or a suffix of one (`train`, `calibrate.train`,
 * also `stage.calibrate.train`); the first when `selector` is absent. Ambiguity is an error.
 */
export function selectObjective(ir: PipelineIr, selector?: string): ObjectiveBlock {
  const blocks = objectiveBlocks(ir);
  const listing = blocks.map((b) => b.path).join(", ") || "none";
  if (blocks.length === 0)
    throw new ObjectiveError("selection", `pipeline '${ir.pipeline}' has no block with an objective`);
  if (selector === undefined) return blocks[0]!;
  const wanted = selector.split(".");
  const matches = blocks.filter((o) => {
    const forms = [o.path.split("."), longPath(o)];
    return forms.some((segments) =>
      wanted.every((w, i) => segments[segments.length - wanted.length + i] === w),
    );
  });
  if (matches.length === 0) {
    throw new ObjectiveError(
      "selection",
      `no objective block '${selector}' in pipeline '${ir.pipeline}' (blocks with an objective: ${listing})`,
    );
  }
  if (matches.length > 1) {
    throw new ObjectiveError(
      "selection",
      `'${selector}' names several objective blocks: ${matches.map((m) => m.path).join(", ")}; give more of the path`,
    );
  }
  return matches[0]!;
}

/** The path with each labelled block as `name.label` (`stage.calibrate.train`). */
function longPath(o: ObjectiveBlock): string[] {
  return [...o.ancestors.slice(1), o.block].flatMap((b) => (b.label ? [b.block, b.label] : [b.block]));
}

/** Values the runtime provides that hold integers (labels, indices, counters): their inputs are i32. */
export const INTEGER_VALUES = new Set([
  "labels",
  "index",
  "groups",
  "task_of",
  "task",
  "tasks",
  "epoch",
  "epochs",
  "step",
  "steps",
  "queue_labels",
  "queue_assigned",
  "paired_labels",
  "paired_index",
  "ids",
  "slots",
]);

export interface ObjectiveInput {
  /** The provided value's name (`logits`, `constants.weights`). */
  readonly name: string;
  readonly value: Value;
}

export interface LoweredObjective {
  /** The forward graph; its output `loss` is the objective. */
  readonly graph: Graph;
  readonly loss: Value;
  readonly inputs: readonly ObjectiveInput[];
  /** The objective as written, resolved: `losses.ueo(logits, constants.weights, lambda: 1)`. */
  readonly text: string;
}

/** A setting's value by dotted path, seen from inside `o` (nearest enclosing block first); undefined if none. */
export function resolveSetting(o: ObjectiveBlock, path: string): JsonValue | undefined {
  const [head, ...rest] = path.split(".");
  // A bare name (`logits`, `epochs`) is a provided value; settings are always reached by a dotted path.
  if (rest.length === 0) return undefined;
  const scopes = [o.block, ...[...o.ancestors].reverse()];
  for (const scope of scopes) {
    const child = scope.blocks.find((c) => c.block === head || c.label === head);
    if (!child) continue;
    let block: IrBlock = child;
    for (let i = 0; i < rest.length; i++) {
      const seg = rest[i]!;
      if (i === rest.length - 1 && seg in block.settings) return block.settings[seg];
      const next = block.blocks.find((c) => c.block === seg || c.label === seg);
      if (!next) return undefined;
      block = next;
    }
    return undefined;
  }
  return undefined;
}

function callText(json: JsonValue | undefined): string {
  if (json === null || json === undefined) return "none";
  if (typeof json !== "object") return String(json);
  if (Array.isArray(json)) return `[${json.map(callText).join(", ")}]`;
  if ("$ref" in json) return String(json["$ref"]);
  if ("$symbol" in json) return String(json["$symbol"]);
  if ("$call" in json) {
    const args = Object.entries(json["args"] as JsonObject).map(([k, v]) => `${k}: ${callText(v)}`);
    return `${String(json["$call"])}(${args.join(", ")})`;
  }
  if ("$op" in json) {
    const ops = (json["operands"] as JsonValue[]).map(callText);
    return ops.length === 1
      ? `${String(json["$op"])}${ops[0]}`
      : `(${ops[0]} ${String(json["$op"])} ${ops[1]})`;
  }
  if ("$apply" in json) {
    const args = [
      ...(json["args"] as JsonValue[]).map(callText),
      ...Object.entries(json["named"] as JsonObject).map(([k, v]) => `${k}: ${callText(v)}`),
    ];
    return `${String(json["$apply"])}(${args.join(", ")})`;
  }
  return JSON.stringify(json);
}

/**
 * The dimension symbols the objective's graph inputs need, in first-use order: those of every parameter
 * a provided value or a per-sample constant is passed to.
 */
export function objectiveDims(ir: PipelineIr, o: ObjectiveBlock): string[] {
  const needed: string[] = [];
  const visit = (json: JsonValue | undefined): void => {
    if (!isJsonObject(json) || !("$call" in json)) {
      if (isJsonObject(json) && "$op" in json) (json["operands"] as JsonValue[]).forEach(visit);
      return;
    }
    const def = ir.definitions[String(json["$call"])];
    for (const [name, arg] of Object.entries(json["args"] as JsonObject)) {
      const t = parseParamType(def?.params.find((p) => p.name === name)?.type);
      if (isJsonObject(arg) && "$ref" in arg && t.kind === "tensor" && isInputRef(o, String(arg["$ref"]))) {
        for (const s of t.dims.flatMap(dimSymbols)) if (!needed.includes(s)) needed.push(s);
      } else visit(arg);
    }
  };
  visit(o.block.settings["objective"]);
  return needed;
}

/** Whether a reference denotes a runtime value (a provided name or a per-sample constant), not a setting. */
function isInputRef(o: ObjectiveBlock, path: string): boolean {
  const setting = resolveSetting(o, path);
  return (
    setting === undefined ||
    (isJsonObject(setting) && "$call" in setting && setting["definition"] === "function")
  );
}

/**
 * Lowers the objective of `o` into a fresh graph. `dims` sizes the dimension symbols of the inputs'
 * shapes (objectiveDims lists them); missing ones raise ObjectiveError("dims").
 */
export function lowerObjective(
  ir: PipelineIr,
  o: ObjectiveBlock,
  dims: ReadonlyMap<string, number>,
  options: { seed?: number } = {},
): LoweredObjective {
  const needed = objectiveDims(ir, o);
  const missing = needed.filter((s) => !dims.has(s));
  if (missing.length > 0) {
    throw new ObjectiveError(
      "dims",
      `the objective of '${o.path}' needs sizes for ${missing.join(", ")} (all of: ${needed.join(", ")}); give them as --dims ${needed.map((s) => `${s}=…`).join(",")}`,
      missing,
    );
  }
  const b = new GraphBuilder();
  const lowerer = new Lowerer(ir, b, options.seed ?? 0);
  const inputs = new Map<string, Value>();
  const objective = o.block.settings["objective"];
  const where = `the objective of '${o.path}'`;
  const fail = (kind: "unsupported" | "type" | "shape", reason: string): never => {
    throw new LoweringError(kind, where, callText(objective), reason);
  };

  const input = (name: string, t: ParamType): LValue => {
    let shape: number[] = [];
    let dtype: DType = INTEGER_VALUES.has(name.split(".").pop()!) ? "i32" : "f32";
    if (t.kind === "tensor") {
      shape = t.dims.map((d) => {
        const size = evalDim(d, dims);
        if (size === undefined || !Number.isInteger(size) || size < 0)
          return fail("shape", `cannot size '${name}'`);
        return size;
      });
      if (t.dtype === "i32" || t.dtype === "bool") dtype = t.dtype;
    } else if (t.kind === "scalar") {
      dtype = t.type === "int" ? "i32" : t.type === "bool" ? "bool" : "f32";
    } else {
      fail(
        "unsupported",
        `'${name}' is passed where ${t.kind === "enum" ? t.options.join(" | ") : t.text} is expected; only tensors and scalars become graph inputs`,
      );
    }
    const known = inputs.get(name);
    if (known) {
      if (known.shape.join() !== shape.join()) {
        fail("shape", `'${name}' is passed as [${known.shape.join(", ")}] and as [${shape.join(", ")}]`);
      }
      return { kind: "tensor", value: known };
    }
    const v = b.input(name, shape, dtype);
    inputs.set(name, v);
    return { kind: "tensor", value: v };
  };

  const value = (json: JsonValue | undefined, t: ParamType | undefined): LValue => {
    if (json === null || json === undefined) return { kind: "none" };
    if (typeof json === "number") return numberValue(json);
    if (typeof json === "boolean") return { kind: "bool", value: json };
    if (typeof json === "string") return { kind: "string", value: json };
    if (Array.isArray(json)) return { kind: "list", items: json.map((j) => value(j, undefined)) };
    if ("$symbol" in json) return { kind: "symbol", name: String(json["$symbol"]) };
    if ("$ref" in json) {
      const path = String(json["$ref"]);
      const setting = resolveSetting(o, path);
      if (setting !== undefined && !isInputRef(o, path)) return value(setting, t);
      if (!t)
        return fail(
          "unsupported",
          `'${path}' is used outside an argument of a loss, so its shape is unknown`,
        );
      return input(path, t);
    }
    if ("$call" in json) {
      const name = String(json["$call"]);
      if (json["definition"] !== "function") {
        return fail("unsupported", `'${name}' is a ${String(json["definition"])}, not a fn or loss`);
      }
      const def = ir.definitions[name];
      const named = new Map<string, LValue>();
      for (const [k, v] of Object.entries(json["args"] as JsonObject)) {
        named.set(k, value(v, parseParamType(def?.params.find((p) => p.name === k)?.type)));
      }
      return lowerer.call(name, [], named);
    }
    if ("$op" in json) {
      const operands = (json["operands"] as JsonValue[]).map((j) => value(j, undefined));
      const op = String(json["$op"]);
      return operands.length === 1
        ? unaryOp(b, op, operands[0]!)
        : binaryOp(b, op, operands[0]!, operands[1]!);
    }
    return fail(
      "unsupported",
      `${callText(json)}: only calls of losses and functions, arithmetic, settings and provided values are lowered`,
    );
  };

  let result: LValue;
  try {
    result = value(objective, undefined);
  } catch (error) {
    if (error instanceof LowerFault)
      throw new LoweringError(error.kind, where, callText(objective), error.reason);
    if (error instanceof GraphError)
      throw new LoweringError("shape", where, callText(objective), error.message);
    throw error;
  }
  if (!isTensorLike(result)) fail("type", `the objective is ${describe(result)}, not a tensor`);
  const loss = toTensor(b, result);
  if (loss.shape.reduce((p, d) => p * d, 1) !== 1)
    fail("shape", `the objective must be a scalar, got [${loss.shape.join(", ")}]`);
  b.output("loss", loss);
  return {
    graph: b.build(),
    loss,
    inputs: [...inputs].map(([name, v]) => ({ name, value: v })),
    text: callText(objective),
  };
}
