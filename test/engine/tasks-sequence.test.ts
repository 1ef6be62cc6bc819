// `class_incremental(...)` as vlmp run reads it (runtime/engine/sequence.ts) over a small `clap4clip` world:
// a seeded class order cut into disjoint tasks, every item relabelled with its class's position; `first`
// and `shots` for the few-shot mode; a class count that does not split is a RunError.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JsonValue } from "../../compiler/values.ts";
import { DataResolver } from "../../runtime/data/sources/resolve.ts";
import { makeWorld } from "../../runtime/data/synthetic/make.ts";
import { RunError } from "../../runtime/engine/errors.ts";
import { resolveSequence } from "../../runtime/engine/sequence.ts";

const dir = mkdtempSync(join(tmpdir(), "vlmp-sequence-"));
const world = join(dir, "clap4clip");
beforeAll(() => makeWorld("clap4clip", { out: world, count: 120, size: 16, seed: 0 }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const source = (part: string): JsonValue => ({
  $call: "data.synthetic",
  definition: "extern",
  args: { world: { $symbol: "clap4clip" }, root: world, part, labels: { $symbol: "given" } },
});

/** The sequence of a data block whose `sequence` is class_incremental with `args`. */
const sequenceOf = (args: Record<string, JsonValue>) => {
  const resolver = new DataResolver({
    classes: {
      $call: "data.synthetic_classes",
      definition: "extern",
      args: { world: { $symbol: "clap4clip" }, root: world, part: { $symbol: "all" } },
    },
    train: source("train"),
    test: source("test"),
    sequence: {
      $call: "data.class_incremental",
      definition: "extern",
      args: {
        classes: { $ref: "classes" },
        train: { $ref: "data.train" },
        test: { $ref: "data.test" },
        ...args,
      },
    },
  });
  return { resolver, sequence: resolveSequence(resolver, { $ref: "data.sequence" }) };
};

describe("class_incremental", () => {
  it("cuts a seeded class order into disjoint tasks and relabels every item by its class's position", () => {
    const { resolver, sequence } = sequenceOf({ tasks: 5, order_seed: 3 });
    const names = resolver.classes({ $ref: "classes" });
    expect(sequence.sizes).toEqual([4, 4, 4, 4, 4]);
    expect(sequence.starts).toEqual([0, 4, 8, 12, 16]);
    expect([...sequence.classes].sort()).toEqual([...names].sort());
    expect(sequence.classes).not.toEqual(names);
    expect(sequenceOf({ tasks: 5, order_seed: 3 }).sequence.classes).toEqual(sequence.classes);
    expect(sequenceOf({ tasks: 5, order_seed: 4 }).sequence.classes).not.toEqual(sequence.classes);
    const train = resolver.source({ $ref: "data.train" });
    for (const [t, items] of sequence.train.entries()) {
      for (const item of items) {
        expect(item.label).toBeGreaterThanOrEqual(sequence.starts[t]!);
        expect(item.label).toBeLessThan(sequence.starts[t]! + sequence.sizes[t]!);
        expect(sequence.classes[item.label]).toBe(train.classes[train.items[item.index]!.label]);
      }
    }
    expect(sequence.train.flat()).toHaveLength(train.items.length);
  });

  it("few-shot: `first` classes in task 1, then `shots` training images per class", () => {
    const { sequence } = sequenceOf({ tasks: 4, first: 8, shots: 1 });
    expect(sequence.sizes).toEqual([8, 4, 4, 4]);
    expect(sequence.train[0]!.length).toBeGreaterThan(8);
    for (const items of sequence.train.slice(1)) expect(items).toHaveLength(4);
  });

  it("a class count that does not split into equal tasks is a RunError", () => {
    expect(() => sequenceOf({ tasks: 3 })).toThrow(RunError);
    expect(() => sequenceOf({ tasks: 3 })).toThrow(/20 classes do not split into 3 tasks/);
  });
});
