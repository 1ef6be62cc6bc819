// The memory plan never lets two values that are live at the same time share a byte; checked on
// random lifetimes and on plans lowered from random graphs. Pure TypeScript: no device needed.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { layerNorm, softmax } from "../../compiler/graph/composites.ts";
import type { Value } from "../../compiler/graph/graph.ts";
import { lowerGraph } from "../../runtime/executor/lower.ts";
import {
  type Lifetime,
  lifetimes,
  type MemoryPlan,
  pageOf,
  pageSizes,
  planMemory,
} from "../../runtime/executor/memory-plan.ts";
import { rng } from "../graph/helpers.ts";

function expectDisjoint(values: readonly Lifetime[], plan: MemoryPlan, alignment: number): void {
  for (const v of values) {
    const at = plan.offsets.get(v.id)!;
    expect(at % alignment).toBe(0);
    expect(at + v.bytes).toBeLessThanOrEqual(plan.size);
  }
  for (let i = 0; i < values.length; i++) {
    for (let j = i + 1; j < values.length; j++) {
      const a = values[i]!;
      const b = values[j]!;
      if (a.start > b.end || b.start > a.end) continue;
      const oa = plan.offsets.get(a.id)!;
      const ob = plan.offsets.get(b.id)!;
      const apart = oa + a.bytes <= ob || ob + b.bytes <= oa;
      if (!apart)
        expect.fail(
          `%${a.id} [${oa}, +${a.bytes}) and %${b.id} [${ob}, +${b.bytes}) overlap while both live`,
        );
    }
  }
}

/** A random graph of elementwise ops, reductions, matmuls, movement and composites. */
function randomGraph(seed: number) {
  const r = rng(seed);
  const b = new GraphBuilder();
  const d = 2 + Math.floor(r() * 6);
  const pool: Value[] = [b.input("x", [d, d]), b.input("y", [d, d])];
  const pick = () => pool[Math.floor(r() * pool.length)]!;
  const steps = 5 + Math.floor(r() * 25);
  for (let i = 0; i < steps; i++) {
    const k = Math.floor(r() * 9);
    const v =
      k === 0
        ? b.add(pick(), pick())
        : k === 1
          ? b.tanh(pick())
          : k === 2
            ? b.matmul(pick(), pick(), { transB: r() < 0.5 })
            : k === 3
              ? b.broadcast(b.sum(pick(), [1], true), [d, d])
              : k === 4
                ? b.permute(pick(), [1, 0])
                : k === 5
                  ? softmax(b, pick())
                  : k === 6
                    ? layerNorm(b, pick())
                    : k === 7
                      ? b.reshape(b.reshape(pick(), [d * d]), [d, d])
                      : b.mul(b.exp(pick()), 0.5);
    pool.push(v);
  }
  const outs = pool.filter(() => r() < 0.2);
  outs.push(pool[pool.length - 1]!);
  return { graph: b.build(), outputs: [...new Set(outs.map((v) => v.id))] };
}

/** Up to 60 values of 1..maxBytes bytes with random lifetimes over 30 steps. */
function randomLifetimes(maxBytes: number): fc.Arbitrary<Lifetime[]> {
  return fc
    .array(
      fc.record({
        bytes: fc.integer({ min: 1, max: maxBytes }),
        start: fc.integer({ min: -1, max: 30 }),
        len: fc.nat(12),
      }),
      { maxLength: 60 },
    )
    .map((raw) => raw.map((v, id) => ({ id, bytes: v.bytes, start: v.start, end: v.start + v.len })));
}

describe("memory plan", () => {
  it("random lifetimes: simultaneously live values never share bytes", () => {
    fc.assert(
      fc.property(randomLifetimes(5000), fc.constantFrom(16, 256), (values, alignment) => {
        expectDisjoint(values, planMemory(values, alignment), alignment);
      }),
      { numRuns: 300 },
    );
  });

  it("paged arenas: no value straddles a page, pages cover the arena, no overlap while live", () => {
    fc.assert(
      fc.property(
        randomLifetimes(4000),
        fc.constantFrom(16, 256),
        fc.integer({ min: 4096, max: 20000 }),
        (values, alignment, limit) => {
          const memory = planMemory(values, alignment, limit);
          expectDisjoint(values, memory, alignment);
          expect(memory.pageBytes % alignment).toBe(0);
          expect(memory.pageBytes).toBeLessThanOrEqual(limit);
          const pages = pageSizes(memory);
          expect(pages.reduce((a, b) => a + b, 0)).toBe(memory.size);
          for (const size of pages) expect(size).toBeLessThanOrEqual(memory.pageBytes);
          for (const v of values) {
            const at = pageOf(memory, memory.offsets.get(v.id)!);
            expect(at.offset + v.bytes, `%${v.id} straddles page ${at.page}`).toBeLessThanOrEqual(
              pages[at.page]!,
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("an unpaged arena is one page; a value larger than a page is refused", () => {
    const values = [{ id: 0, bytes: 5000, start: 0, end: 1 }];
    expect(pageSizes(planMemory(values, 256))).toEqual([5120]);
    expect(() => planMemory(values, 256, 4096)).toThrow(
      /5000-byte value does not fit in one 4096-byte buffer/,
    );
  });

  it("plans lowered from random graphs, fused and unfused: no overlap, and reuse happens", () => {
    let reused = 0;
    fc.assert(
      fc.property(fc.integer(), fc.boolean(), (seed, fuse) => {
        const { graph, outputs } = randomGraph(seed);
        const plan = lowerGraph(graph, outputs, { fuse });
        const values = lifetimes(plan);
        const memory = planMemory(values, 256);
        expectDisjoint(values, memory, 256);
        // Every bound value has storage, and each step's written values are distinct from what it reads.
        for (const s of plan.steps) {
          for (const a of s.args) expect(plan.values.has(a)).toBe(true);
          for (const w of s.writes) expect(s.args.filter((a) => a === w).length).toBe(1);
        }
        if (memory.size < memory.unshared) reused++;
      }),
      { numRuns: 150 },
    );
    expect(reused).toBeGreaterThan(20);
  });

  it("a chain reuses its buffers: the arena of a long chain stays small", () => {
    const b = new GraphBuilder();
    let x: Value = b.input("x", [64, 64]);
    const w = b.input("w", [64, 64]);
    for (let i = 0; i < 20; i++) x = b.tanh(b.matmul(x, w));
    b.output("y", x);
    const plan = lowerGraph(b.build(), [x.id]);
    const memory = planMemory(lifetimes(plan), 256);
    expect(memory.size).toBeLessThanOrEqual(4 * 64 * 64 * 4);
    expect(memory.unshared).toBeGreaterThan(20 * 64 * 64 * 4);
  });
});
