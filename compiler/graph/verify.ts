// The graph verifier: checks the invariants every pass must keep. Always on in tests; the
// compiler runs it between passes when asked to.

import { validateAttrs } from "./attrs.ts";
import { GraphError } from "./errors.ts";
import type { Graph, ValueId } from "./graph.ts";
import { arity, isOp } from "./ops.ts";
import { inferType } from "./shapes.ts";

/** Structural equality of plain data, blind to key order. */
function same(a: unknown, b: unknown): boolean {
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return Object.is(a, b);
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.length === kb.length && ka.every((k) => k in rb && same(ra[k], rb[k]));
}

/**
 * Throws GraphError("invalid") at the first broken invariant: ids unique and defined before use
 * (SSA in topological order), known ops with valid attributes and operand counts, shapes and
 * dtypes equal to what the op's rule infers, outputs and composite records pointing at live values.
 */
export function verifyGraph(graph: Graph): void {
  const types = new Map<ValueId, { shape: readonly number[]; dtype: string }>();
  for (const n of graph.nodes) {
    const bad = (message: string): never => {
      throw new GraphError("invalid", `%${n.id} (${n.op}): ${message}`, n.span);
    };
    if (types.has(n.id)) bad("defined twice");
    if (!isOp(n.op)) bad("unknown op");
    const k = arity(n.op);
    if (k === "variadic" ? n.inputs.length === 0 : n.inputs.length !== k) bad(`${n.inputs.length} operands`);
    const operands = n.inputs.map((i) => types.get(i) ?? bad(`uses %${i} before its definition`));
    try {
      validateAttrs(n.op, n.attrs);
      const t = inferType(n.op, operands as Parameters<typeof inferType>[1], n.attrs);
      if (!same(t.shape, n.shape) || t.dtype !== n.dtype) {
        bad(
          `has type ${n.dtype}[${n.shape.join(", ")}] but its rule gives ${t.dtype}[${t.shape.join(", ")}]`,
        );
      }
      if (!same(t.attrs, n.attrs)) bad("attributes are not in canonical form");
    } catch (e) {
      if (e instanceof GraphError && e.kind !== "invalid") bad(e.message);
      throw e;
    }
    types.set(n.id, n);
  }
  const names = new Set<string>();
  for (const o of graph.outputs) {
    if (names.has(o.name)) throw new GraphError("invalid", `duplicate output '${o.name}'`);
    if (!types.has(o.value))
      throw new GraphError("invalid", `output '${o.name}' names unknown value %${o.value}`);
    names.add(o.name);
  }
  const records = new Map(graph.composites.map((c) => [c.id, c]));
  if (records.size !== graph.composites.length)
    throw new GraphError("invalid", "composite ids are not unique");
  for (const c of graph.composites) {
    const refs = [c.output, ...c.inputs, ...Object.values(c.saved)];
    const missing = refs.find((id) => !types.has(id));
    if (missing !== undefined)
      throw new GraphError("invalid", `composite ${c.kind}#${c.id} names unknown value %${missing}`);
  }
  for (const n of graph.nodes) {
    if (!n.composite) continue;
    const r = records.get(n.composite.id);
    if (r?.kind !== n.composite.kind) {
      throw new GraphError(
        "invalid",
        `%${n.id} is tagged ${n.composite.kind}#${n.composite.id}, which has no record`,
        n.span,
      );
    }
  }
  for (const c of graph.composites) {
    const out = graph.nodes.find((n) => n.id === c.output)!;
    if (out.composite?.id !== c.id)
      throw new GraphError("invalid", `composite ${c.kind}#${c.id}: output %${c.output} is not tagged`);
  }
}
