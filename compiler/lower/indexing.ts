// `x[...]` with NumPy's basic indexing: integers drop an axis, slices keep a range (constant bounds,
// negative ones counted from the end, positive steps), `new` inserts an axis of size 1, `...` stands for
// the axes not named. One integer tensor may index one axis (a gather: the index's axes replace it).

import type { GraphBuilder } from "../graph/builder.ts";
import type { Value } from "../graph/graph.ts";
import { fault } from "./errors.ts";
import { describe, type LValue, toIndex } from "./values.ts";

export type IndexItem =
  | { readonly kind: "index"; readonly value: LValue }
  | { readonly kind: "slice"; readonly start?: number; readonly stop?: number; readonly step?: number }
  | { readonly kind: "new" }
  | { readonly kind: "ellipsis" };

function checkInteger(n: number, what: string): number {
  if (!Number.isInteger(n)) fault("type", `${what} must be an integer, got ${n}`);
  return n;
}

export function lowerIndex(b: GraphBuilder, x: Value, items: readonly IndexItem[]): Value {
  const rank = x.shape.length;
  const consuming = items.filter((i) => i.kind === "index" || i.kind === "slice").length;
  const ellipses = items.filter((i) => i.kind === "ellipsis").length;
  if (ellipses > 1) fault("shape", "an index may hold at most one '...'");
  if (consuming > rank) fault("shape", `too many indices (${consuming}) for a tensor of rank ${rank}`);
  const expanded: Exclude<IndexItem, { kind: "ellipsis" }>[] = [];
  for (const item of items) {
    if (item.kind === "ellipsis") for (let k = 0; k < rank - consuming; k++) expanded.push({ kind: "slice" });
    else expanded.push(item);
  }
  while (expanded.filter((i) => i.kind !== "new").length < rank) expanded.push({ kind: "slice" });

  const starts: number[] = [];
  const ends: number[] = [];
  const steps: number[] = [];
  /** The result's shape after slicing and reshaping, before any gather. */
  const out: number[] = [];
  let gather: { axis: number; index: Value } | undefined;
  let axis = 0;
  for (const item of expanded) {
    if (item.kind === "new") {
      out.push(1);
      continue;
    }
    const d = x.shape[axis]!;
    if (item.kind === "slice") {
      const step = checkInteger(item.step ?? 1, "a slice step");
      if (step < 1) fault("unsupported", `slice step ${step}: only positive steps are lowered`);
      const clamp = (v: number) => Math.min(d, Math.max(0, v < 0 ? v + d : v));
      const start = clamp(checkInteger(item.start ?? 0, "a slice start"));
      const stop = Math.max(start, clamp(checkInteger(item.stop ?? d, "a slice stop")));
      starts.push(start);
      ends.push(stop);
      steps.push(step);
      out.push(Math.ceil((stop - start) / step));
    } else if (item.value.kind === "number") {
      const i = checkInteger(item.value.value, "an index");
      const at = i < 0 ? i + d : i;
      if (at < 0 || at >= d) fault("shape", `index ${i} is out of range for axis ${axis} of size ${d}`);
      starts.push(at);
      ends.push(at + 1);
      steps.push(1);
    } else if (item.value.kind === "tensor") {
      if (item.value.value.dtype === "bool")
        fault("unsupported", "indexing with a bool mask (its shape depends on the data)");
      if (gather) fault("unsupported", "indexing with more than one tensor of indices");
      gather = { axis: out.length, index: toIndex(b, item.value) };
      starts.push(0);
      ends.push(d);
      steps.push(1);
      out.push(d);
    } else {
      fault("type", `an index must be an integer or a tensor of integers, got ${describe(item.value)}`);
    }
    axis++;
  }
  const whole = starts.every((s, i) => s === 0 && ends[i] === x.shape[i] && steps[i] === 1);
  const sliced = whole ? x : b.slice(x, starts, ends, steps);
  const shaped = b.reshape(sliced, out);
  return gather ? b.gather(shaped, gather.index, gather.axis) : shaped;
}
