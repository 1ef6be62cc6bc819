// The readable text form of a graph (what `vlmp compile --emit graph` prints): one line per
// node, `%id: dtype[shape] = op operands {attributes}`, then composite tag and source location.

import type { AnyNode, Graph } from "./graph.ts";

function formatValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(formatValue).join(", ")}]`;
  if (typeof v === "string") return JSON.stringify(v);
  return String(v);
}

const MAX_DATA = 8;

function formatAttrs(n: AnyNode): string {
  // shape, dtype and name are shown elsewhere on the line.
  const entries = Object.entries(n.attrs).filter(([k]) => k !== "shape" && k !== "dtype" && k !== "name");
  if (entries.length === 0) return "";
  const parts = entries.map(([k, v]) => {
    if (k === "data" && Array.isArray(v) && v.length > MAX_DATA) {
      return `data=[${v.slice(0, MAX_DATA).map(formatValue).join(", ")}, ... ${v.length - MAX_DATA} more]`;
    }
    return `${k}=${formatValue(v)}`;
  });
  return ` {${parts.join(", ")}}`;
}

export function formatNode(n: AnyNode): string {
  const type = `${n.dtype}[${n.shape.join(",")}]`;
  const name = "name" in n.attrs ? ` ${JSON.stringify(n.attrs.name)}` : "";
  const operands = n.inputs.length > 0 ? ` ${n.inputs.map((i) => `%${i}`).join(", ")}` : "";
  const cast = n.op === "cast" ? ` to ${n.attrs.dtype}` : "";
  const tag = n.composite ? `  [${n.composite.kind}#${n.composite.id}]` : "";
  const where = n.span ? `  @ ${n.span.file}:${n.span.line}:${n.span.col}` : "";
  return `%${n.id}: ${type} = ${n.op}${name}${operands}${cast}${formatAttrs(n)}${tag}${where}`;
}

export function formatGraph(graph: Graph): string {
  const lines = graph.nodes.map((n) => `  ${formatNode(n)}`);
  const outputs = graph.outputs.map((o) => `${o.name}=%${o.value}`).join(", ");
  return [`graph {`, ...lines, `  outputs: ${outputs}`, "}", ""].join("\n");
}
