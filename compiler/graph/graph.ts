// The tensor graph: SSA nodes in topological order, each producing one value with a static shape.

import type { DType, Op, OpAttrs } from "./ops.ts";

/** Node ids are stable across passes, so feeds keyed by id stay valid after folding, CSE and DCE. */
export type ValueId = number;

/** Where a node came from in the user's .vlmp source (1-based lines and columns). */
export interface SourceSpan {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly endLine: number;
  readonly endCol: number;
}

export const COMPOSITE_KINDS = [
  "softmax",
  "log_softmax",
  "logsumexp",
  "layernorm",
  "gelu",
  "quick_gelu",
  "attention",
  "cross_entropy",
  "entropy",
  "cosine_similarity",
  "l2_normalize",
] as const;
export type CompositeKind = (typeof COMPOSITE_KINDS)[number];

/** Marks the nodes produced by one composite call, so the kernel layer can fuse them. */
export interface CompositeTag {
  readonly kind: CompositeKind;
  readonly id: number;
}

/** What a value is: enough to type-check a use of it. */
export interface Value {
  readonly id: ValueId;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export interface Node<K extends Op = Op> extends Value {
  readonly op: K;
  readonly inputs: readonly ValueId[];
  readonly attrs: OpAttrs[K];
  readonly span?: SourceSpan;
  readonly composite?: CompositeTag;
}

/** A node whose `attrs` narrow with `op`. */
export type AnyNode = { [K in Op]: Node<K> }[Op];

/**
 * One composite call: its operands, its result, its scalar settings, and internal values a
 * hand-written gradient rule reuses (e.g. layernorm's normalised input and reciprocal std).
 */
export interface CompositeRecord {
  readonly id: number;
  readonly kind: CompositeKind;
  readonly inputs: readonly ValueId[];
  readonly output: ValueId;
  readonly attrs: Readonly<Record<string, number>>;
  readonly saved: Readonly<Record<string, ValueId>>;
}

export interface GraphOutput {
  readonly name: string;
  readonly value: ValueId;
}

export interface Graph {
  readonly nodes: readonly AnyNode[];
  readonly outputs: readonly GraphOutput[];
  readonly composites: readonly CompositeRecord[];
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function nodeIndex(graph: Graph): Map<ValueId, AnyNode> {
  return new Map(graph.nodes.map((n) => [n.id, n]));
}

/** Ids of the nodes that consume each value (a value used twice by one node appears twice). */
export function consumers(graph: Graph): Map<ValueId, ValueId[]> {
  const uses = new Map<ValueId, ValueId[]>(graph.nodes.map((n) => [n.id, []]));
  for (const n of graph.nodes) for (const i of n.inputs) uses.get(i)?.push(n.id);
  return uses;
}

/**
 * Keeps the composite records a pass left intact: the output still exists and still carries the
 * record's tag, and every operand and saved value still exists. Tags of dropped records are removed.
 */
export function retainComposites(
  nodes: readonly AnyNode[],
  composites: readonly CompositeRecord[],
): Pick<Graph, "nodes" | "composites"> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const kept = composites.filter((c) => {
    const out = byId.get(c.output);
    return (
      out?.composite?.id === c.id &&
      c.inputs.every((i) => byId.has(i)) &&
      Object.values(c.saved).every((s) => byId.has(s))
    );
  });
  const live = new Set(kept.map((c) => c.id));
  const cleaned = nodes.map((n) => {
    if (n.composite === undefined || live.has(n.composite.id)) return n;
    const { composite: _dropped, ...rest } = n;
    return rest as AnyNode;
  });
  return { nodes: cleaned, composites: kept };
}
