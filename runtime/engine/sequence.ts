// A class-incremental task sequence (`class_incremental(...)`, METHODS §2.1) and its exemplar memory
// (`exemplars(...)`): the classes in a seeded order cut into T tasks, so that the classes seen after task t
// are the first n_t of that order; every train and test item relabelled with its class's position in it.
// Task k's classes are the contiguous positions [start_k, start_k + size_k).

import { isJsonObject, type JsonObject, type JsonValue } from "../../compiler/values.ts";
import type { DataResolver } from "../data/sources/resolve.ts";
import type { DataItem, DataSource } from "../data/sources/types.ts";
import { RunError } from "./errors.ts";
import { seededPermutation } from "./permutation.ts";

/** The stream of the class order, apart from the epochs' sample orders. */
const CLASS_ORDER_STREAM = 2 ** 41;

export interface TaskSequence {
  /** Class names in sequence order (label = position here). */
  readonly classes: readonly string[];
  /** First position of each task's classes, and their count. */
  readonly starts: readonly number[];
  readonly sizes: readonly number[];
  /** The source the training items come from. */
  readonly trainSource: DataSource;
  /** Per task: its classes' training and test items, labels relabelled to sequence positions. */
  readonly train: readonly (readonly DataItem[])[];
  readonly test: readonly (readonly DataItem[])[];
}

/** n_t: how many classes are seen after task t (0-based). */
export function seenClasses(sequence: TaskSequence, t: number): number {
  return sequence.starts[t]! + sequence.sizes[t]!;
}

function callOf(value: JsonValue | undefined, name: string, what: string): JsonObject {
  if (!isJsonObject(value) || String(value["$call"]).split(".").pop() !== name) {
    throw new RunError(`${what} = ${JSON.stringify(value)}: vlmp run reads ${name}(...) here so far`);
  }
  return (value["args"] ?? {}) as JsonObject;
}

/** Task sizes: `first` classes, then the rest in equal tasks (or all equal when `first` is 0). */
function taskSizes(classes: number, tasks: number, first: number): number[] {
  const rest = first > 0 ? classes - first : classes;
  const cut = first > 0 ? tasks - 1 : tasks;
  if (rest < cut || (cut > 0 && rest % cut !== 0) || (cut === 0 && rest !== 0)) {
    throw new RunError(
      `class_incremental: ${classes} classes${first > 0 ? ` (first: ${first})` : ""} do not split into ${tasks} tasks of equal size`,
    );
  }
  const each = cut > 0 ? rest / cut : 0;
  return [...(first > 0 ? [first] : []), ...Array.from({ length: cut }, () => each)];
}

/** The sequence a `class_incremental(...)` call value (after `resolver.deref`) describes. */
/** The train and test sources a `class_incremental(...)` call names, as declared. */
export function sequenceSources(resolver: DataResolver, value: JsonValue | undefined): DataSource[] {
  const args = callOf(resolver.deref(value), "class_incremental", "tasks.sequence");
  return [resolver.source(args["train"]!), resolver.source(args["test"]!)];
}

/**
 * The task sequence of a `class_incremental(...)` call; `usable` gives the images of a declared source that
 * the run reads (bad_images = skip leaves the unreadable ones out).
 */
export function resolveSequence(
  resolver: DataResolver,
  value: JsonValue | undefined,
  usable: (source: DataSource) => DataSource = (source) => source,
): TaskSequence {
  const args = callOf(resolver.deref(value), "class_incremental", "tasks.sequence");
  const names = resolver.classes(args["classes"]!);
  const tasks = Number(args["tasks"]);
  const first = Number(args["first"] ?? 0);
  const shots = Number(args["shots"] ?? 0);
  const order = seededPermutation(names.length, Number(args["order_seed"] ?? 1993), 0, CLASS_ORDER_STREAM);
  const classes = order.map((i) => names[i]!);
  const sizes = taskSizes(classes.length, tasks, first);
  const starts = sizes.map((_, t) => sizes.slice(0, t).reduce((a, b) => a + b, 0));
  const position = new Map(classes.map((c, i) => [c, i] as const));
  const tasksOf = sizes.flatMap((n, t) => Array.from({ length: n }, () => t));
  const taskOf = (label: number) => tasksOf[label]!;

  const split = (ref: JsonValue | undefined, part: string, keep: (item: DataItem, t: number) => boolean) => {
    const source = usable(resolver.source(ref!));
    const out: DataItem[][] = sizes.map(() => []);
    for (const item of source.items) {
      const p = position.get(source.classes[item.label] ?? "");
      if (p === undefined) continue;
      const relabelled = { ...item, label: p };
      if (keep(relabelled, taskOf(p))) out[taskOf(p)]!.push(relabelled);
    }
    out.forEach((items, t) => {
      if (items.length === 0)
        throw new RunError(`class_incremental: task ${t + 1} has no ${part} images in ${source.description}`);
    });
    return out;
  };
  // `shots`: the first `shots` training images of each class, in tasks after the first.
  const taken = new Map<number, number>();
  const train = split(args["train"], "training", (item, t) => {
    if (shots <= 0 || t === 0) return true;
    const n = taken.get(item.label) ?? 0;
    taken.set(item.label, n + 1);
    return n < shots;
  });
  const test = split(args["test"], "test", () => true);
  return { classes, starts, sizes, trainSource: resolver.source(args["train"]!), train, test };
}

export interface ExemplarMemory {
  /** Exemplars in all (split evenly over the seen classes, floor), or 0 for `perClass` each. */
  readonly total: number;
  readonly perClass: number;
  readonly selector: "firstK";
}

/** The `exemplars(...)` call of `tasks.memory` (none → undefined). */
export function resolveMemory(value: JsonValue | undefined, setting: (ref: string) => JsonValue | undefined) {
  if (value === null || value === undefined) return undefined;
  const args = callOf(value, "exemplars", "tasks.memory");
  const arg = (k: string): JsonValue | undefined => {
    const v = args[k];
    return isJsonObject(v) && "$ref" in v ? setting(String(v["$ref"])) : v;
  };
  const selector = arg("selector");
  const name = isJsonObject(selector) && "$symbol" in selector ? String(selector["$symbol"]) : "firstK";
  if (name !== "firstK") {
    throw new RunError(
      `tasks.memory: exemplars(selector: ${name}) is not supported by vlmp run yet (firstK keeps the first k images of each class)`,
    );
  }
  return {
    total: Number(arg("total") ?? 0),
    perClass: Number(arg("per_class") ?? 20),
    selector: name,
  } satisfies ExemplarMemory;
}

/**
 * The exemplars replayed while training task t (0-based): those selected after task t − 1 from the classes
 * of tasks 0..t−1, floor(total / seen classes) per class (or `perClass`), the first of each class in
 * source order (firstK, the official "random" selector, METHODS §2.1).
 */
export function exemplarsBefore(sequence: TaskSequence, memory: ExemplarMemory, t: number): DataItem[] {
  if (t === 0) return [];
  const seen = seenClasses(sequence, t - 1);
  const k = memory.total > 0 ? Math.floor(memory.total / seen) : memory.perClass;
  const kept: DataItem[] = [];
  const counts = new Map<number, number>();
  for (const items of sequence.train.slice(0, t)) {
    for (const item of items) {
      const n = counts.get(item.label) ?? 0;
      if (n < k) kept.push(item);
      counts.set(item.label, n + 1);
    }
  }
  return kept;
}
