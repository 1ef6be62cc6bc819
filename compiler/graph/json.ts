// The JSON form of a graph, as the Pipeline IR embeds it. Plain data; non-finite numbers (a
// mask's -Infinity) are written as the strings "Infinity", "-Infinity" and "NaN". The loader
// checks every field and then the graph's invariants, throwing GraphJsonError on bad input.

import { validateAttrs } from "./attrs.ts";
import { GraphError, GraphJsonError } from "./errors.ts";
import {
  type AnyNode,
  COMPOSITE_KINDS,
  type CompositeRecord,
  type Graph,
  type GraphOutput,
  type SourceSpan,
} from "./graph.ts";
import { ATTR_SCHEMA, DTYPES, isOp } from "./ops.ts";
import { verifyGraph } from "./verify.ts";

export const GRAPH_JSON_VERSION = 1;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function encodeNumber(v: number): Json {
  return Number.isFinite(v) ? v : String(v);
}

function encodeAttrs(n: AnyNode): Json {
  const schema: Readonly<Record<string, string>> = ATTR_SCHEMA[n.op];
  const attrs = n.attrs as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(schema).map((k) => {
      const v = attrs[k];
      if (schema[k] === "number") return [k, encodeNumber(v as number)];
      if (schema[k] === "numbers") return [k, (v as number[]).map(encodeNumber)];
      return [k, v as Json];
    }),
  );
}

export function graphToJson(graph: Graph): Json {
  return {
    vlmp_graph: GRAPH_JSON_VERSION,
    nodes: graph.nodes.map((n) => ({
      id: n.id,
      op: n.op,
      inputs: [...n.inputs],
      attrs: encodeAttrs(n),
      shape: [...n.shape],
      dtype: n.dtype,
      ...(n.span && { span: { ...n.span } }),
      ...(n.composite && { composite: { ...n.composite } }),
    })),
    outputs: graph.outputs.map((o) => ({ name: o.name, value: o.value })),
    composites: graph.composites.map((c) => ({
      id: c.id,
      kind: c.kind,
      inputs: [...c.inputs],
      output: c.output,
      attrs: Object.fromEntries(Object.entries(c.attrs).map(([k, v]) => [k, encodeNumber(v)])),
      saved: { ...c.saved },
    })),
  };
}

// Field readers: each returns the checked value or throws at `path`.

function object(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new GraphJsonError(path, "expected an object");
  return v as Record<string, unknown>;
}

function array(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new GraphJsonError(path, "expected an array");
  return v;
}

function int(v: unknown, path: string): number {
  if (!Number.isSafeInteger(v)) throw new GraphJsonError(path, "expected an integer");
  return v as number;
}

function str(v: unknown, path: string): string {
  if (typeof v !== "string") throw new GraphJsonError(path, "expected a string");
  return v;
}

function ints(v: unknown, path: string): number[] {
  return array(v, path).map((x, i) => int(x, `${path}[${i}]`));
}

function oneOf<T extends string>(v: unknown, options: readonly T[], path: string): T {
  if (!(options as readonly unknown[]).includes(v))
    throw new GraphJsonError(path, `expected one of ${options.join(", ")}`);
  return v as T;
}

const NON_FINITE: Readonly<Record<string, number>> = {
  Infinity: Infinity,
  "-Infinity": -Infinity,
  NaN: Number.NaN,
};

function decodeNumber(v: unknown, path: string): number {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v in NON_FINITE) return NON_FINITE[v]!;
  throw new GraphJsonError(path, "expected a number");
}

function span(v: unknown, path: string): SourceSpan {
  const o = object(v, path);
  return {
    file: str(o["file"], `${path}.file`),
    line: int(o["line"], `${path}.line`),
    col: int(o["col"], `${path}.col`),
    endLine: int(o["endLine"], `${path}.endLine`),
    endCol: int(o["endCol"], `${path}.endCol`),
  };
}

function node(v: unknown, path: string): AnyNode {
  const o = object(v, path);
  const op = str(o["op"], `${path}.op`);
  if (!isOp(op)) throw new GraphJsonError(`${path}.op`, `unknown op '${op}'`);
  const schema: Readonly<Record<string, string>> = ATTR_SCHEMA[op];
  const raw = object(o["attrs"], `${path}.attrs`);
  const decoded = Object.fromEntries(
    Object.entries(raw).map(([k, x]) => {
      const at = `${path}.attrs.${k}`;
      if (schema[k] === "number") return [k, decodeNumber(x, at)];
      if (schema[k] === "numbers") return [k, array(x, at).map((e, i) => decodeNumber(e, `${at}[${i}]`))];
      return [k, x];
    }),
  );
  let attrs: AnyNode["attrs"];
  try {
    attrs = validateAttrs(op, decoded);
  } catch (e) {
    throw e instanceof GraphError ? new GraphJsonError(`${path}.attrs`, e.message) : e;
  }
  const comp = o["composite"] === undefined ? undefined : object(o["composite"], `${path}.composite`);
  return {
    id: int(o["id"], `${path}.id`),
    op,
    inputs: ints(o["inputs"], `${path}.inputs`),
    attrs,
    shape: ints(o["shape"], `${path}.shape`),
    dtype: oneOf(o["dtype"], DTYPES, `${path}.dtype`),
    ...(o["span"] !== undefined && { span: span(o["span"], `${path}.span`) }),
    ...(comp && {
      composite: {
        kind: oneOf(comp["kind"], COMPOSITE_KINDS, `${path}.composite.kind`),
        id: int(comp["id"], `${path}.composite.id`),
      },
    }),
  } as AnyNode;
}

function output(v: unknown, path: string): GraphOutput {
  const o = object(v, path);
  return { name: str(o["name"], `${path}.name`), value: int(o["value"], `${path}.value`) };
}

function composite(v: unknown, path: string): CompositeRecord {
  const o = object(v, path);
  const attrs = object(o["attrs"], `${path}.attrs`);
  const saved = object(o["saved"], `${path}.saved`);
  return {
    id: int(o["id"], `${path}.id`),
    kind: oneOf(o["kind"], COMPOSITE_KINDS, `${path}.kind`),
    inputs: ints(o["inputs"], `${path}.inputs`),
    output: int(o["output"], `${path}.output`),
    attrs: Object.fromEntries(
      Object.entries(attrs).map(([k, x]) => [k, decodeNumber(x, `${path}.attrs.${k}`)]),
    ),
    saved: Object.fromEntries(Object.entries(saved).map(([k, x]) => [k, int(x, `${path}.saved.${k}`)])),
  };
}

/** Reads a graph from its JSON form (parsed), checking fields and invariants; throws GraphJsonError. */
export function graphFromJson(json: unknown): Graph {
  const o = object(json, "$");
  if (o["vlmp_graph"] !== GRAPH_JSON_VERSION) {
    throw new GraphJsonError("$.vlmp_graph", `expected version ${GRAPH_JSON_VERSION}`);
  }
  const graph: Graph = {
    nodes: array(o["nodes"], "$.nodes").map((n, i) => node(n, `$.nodes[${i}]`)),
    outputs: array(o["outputs"], "$.outputs").map((x, i) => output(x, `$.outputs[${i}]`)),
    composites: array(o["composites"], "$.composites").map((c, i) => composite(c, `$.composites[${i}]`)),
  };
  try {
    verifyGraph(graph);
  } catch (e) {
    throw e instanceof GraphError ? new GraphJsonError("$", e.message) : e;
  }
  return graph;
}
