// The liveness-based memory plan: every value with storage gets a byte range in one arena buffer,
// and two values whose lifetimes overlap never share a byte. Lifetimes are step intervals
// [first write, last read]; feeds start before the first step, outputs end after the last, and
// constants live for the whole plan (they are uploaded once). Placement is greedy, largest first,
// at the lowest aligned offset that fits between the ranges of already placed, overlapping values.
// An arena larger than one device buffer may hold (maxBufferSize, 4 GiB on lavapipe; a full-depth ViT-B/16
// training step at batch 32 needs more) is cut into pages of at most `pageBytes`: no value straddles a page
// boundary, so each page is its own buffer and every binding stays inside one.

import type { ValueId } from "../../compiler/graph/graph.ts";
import type { KernelPlan } from "./lower.ts";

export interface Lifetime {
  readonly id: ValueId;
  readonly bytes: number;
  /** First step that needs the storage (-1: before the first step). */
  readonly start: number;
  /** Last step that needs it (steps.length: after the last). */
  readonly end: number;
}

export interface MemoryPlan {
  readonly offsets: ReadonlyMap<ValueId, number>;
  /** Arena size in bytes (a multiple of the alignment). */
  readonly size: number;
  /** Sum of all values' bytes: what an arena without reuse would need. */
  readonly unshared: number;
  /** The page size the arena is cut at (Infinity: one buffer). */
  readonly pageBytes: number;
}

/** The buffers a paged arena needs: the byte size of each page, the last one cut to the arena's size. */
export function pageSizes(memory: MemoryPlan): number[] {
  if (!Number.isFinite(memory.pageBytes)) return [memory.size];
  const sizes: number[] = [];
  for (let at = 0; at < memory.size; at += memory.pageBytes)
    sizes.push(Math.min(memory.pageBytes, memory.size - at));
  return sizes;
}

/** Where an arena offset lies: its page and the offset within that page. */
export function pageOf(memory: MemoryPlan, offset: number): { page: number; offset: number } {
  if (!Number.isFinite(memory.pageBytes)) return { page: 0, offset };
  const page = Math.floor(offset / memory.pageBytes);
  return { page, offset: offset - page * memory.pageBytes };
}

export function lifetimes(plan: KernelPlan): Lifetime[] {
  const start = new Map<ValueId, number>();
  const end = new Map<ValueId, number>();
  const touch = (id: ValueId, step: number) => {
    if (!start.has(id)) start.set(id, step);
    end.set(id, Math.max(end.get(id) ?? step, step));
  };
  for (const id of plan.feeds) touch(id, -1);
  for (const id of plan.constants.keys()) touch(id, -1);
  plan.steps.forEach((s, i) => {
    for (const a of s.args) touch(a, i);
  });
  const last = plan.steps.length;
  for (const o of plan.outputs) touch(plan.aliases.get(o) ?? o, last);
  for (const id of plan.constants.keys()) touch(id, last);
  return [...plan.values.values()].map((v) => ({
    id: v.id,
    bytes: v.bytes,
    start: start.get(v.id) ?? -1,
    end: end.get(v.id) ?? -1,
  }));
}

function overlaps(a: Lifetime, b: Lifetime): boolean {
  return a.start <= b.end && b.start <= a.end;
}

export function planMemory(
  values: readonly Lifetime[],
  alignment: number,
  pageLimit = Number.POSITIVE_INFINITY,
): MemoryPlan {
  const align = (x: number) => Math.ceil(x / alignment) * alignment;
  // Pages start at aligned offsets.
  const pageBytes = Number.isFinite(pageLimit) ? Math.floor(pageLimit / alignment) * alignment : pageLimit;
  const largest = values.reduce((m, v) => Math.max(m, v.bytes), 0);
  if (largest > pageBytes) {
    throw new RangeError(`a ${largest}-byte value does not fit in one ${pageBytes}-byte buffer`);
  }
  /** `offset`, or the next page's start where a value of `bytes` there would straddle a page boundary. */
  const inOnePage = (offset: number, bytes: number) => {
    if (!Number.isFinite(pageBytes)) return offset;
    const page = Math.floor(offset / pageBytes);
    return offset + bytes > (page + 1) * pageBytes ? (page + 1) * pageBytes : offset;
  };
  const order = [...values].sort((a, b) => b.bytes - a.bytes || a.start - b.start || a.id - b.id);
  const placed: { life: Lifetime; offset: number }[] = [];
  const offsets = new Map<ValueId, number>();
  let size = 0;
  for (const v of order) {
    const busy = placed
      .filter((p) => overlaps(p.life, v))
      .map((p) => [p.offset, p.offset + p.life.bytes] as const)
      .sort((a, b) => a[0] - b[0]);
    let offset = inOnePage(0, v.bytes);
    for (const [lo, hi] of busy) {
      if (offset + v.bytes <= lo) break;
      offset = inOnePage(Math.max(offset, align(hi)), v.bytes);
    }
    placed.push({ life: v, offset });
    offsets.set(v.id, offset);
    size = Math.max(size, offset + v.bytes);
  }
  return {
    offsets,
    size: align(Math.max(size, alignment)),
    unshared: values.reduce((a, v) => a + v.bytes, 0),
    pageBytes,
  };
}
