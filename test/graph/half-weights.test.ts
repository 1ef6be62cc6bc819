// `precision = f16` (halfWeights): a frozen weight that only matmuls read, through reshapes and
// transposes, is kept at f16 and each matmul reads it through a cast to f32; an embedding table that only
// gathers read is kept at f16 and its rows are cast where used; biases, norms, trained parameters and
// weights read by anything else stay f32. The result is the f32 graph with those weights rounded to f16.

import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Graph, ValueId } from "../../compiler/graph/graph.ts";
import { halfWeights } from "../../compiler/graph/passes/half-weights.ts";
import { verifyGraph } from "../../compiler/graph/verify.ts";
import { roundToHalf } from "../../runtime/formats/half.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";
import { rng } from "./helpers.ts";

function model() {
  const b = new GraphBuilder();
  const x = b.input("x", [3, 8]);
  const w = b.param("linear.weight", [6, 8], { trainable: false });
  const bias = b.param("linear.bias", [6], { trainable: false });
  const gamma = b.param("norm.weight", [6], { trainable: false });
  const prompt = b.param("prompt", [8, 6], { trainable: true });
  const proj = b.param("proj", [2, 3, 6], { trainable: false });
  const shared = b.param("shared", [6, 6], { trainable: false });
  const h = b.mul(b.add(b.matmul(x, b.transpose(w)), bias), gamma);
  const p = b.matmul(h, b.reshape(proj, [6, 6]));
  const q = b.add(b.matmul(p, shared), b.sum(shared, [0]));
  const table = b.param("embed", [10, 6], { trainable: false });
  const rows = b.gather(table, b.input("ids", [3], "i32"), 0);
  const y = b.add(b.add(q, b.sum(b.matmul(x, prompt), [1], true)), b.mul(rows, 2));
  b.output("y", y);
  return { graph: b.build(), y: y.id };
}

function feeds(graph: Graph): Map<ValueId, Tensor> {
  const r = rng(11);
  const out = new Map<ValueId, Tensor>();
  for (const n of graph.nodes) {
    if (n.op !== "input" && n.op !== "param") continue;
    const size = n.shape.reduce((a, d) => a * d, 1);
    out.set(n.id, {
      shape: n.shape,
      data: Float64Array.from({ length: size }, () =>
        n.dtype === "i32" ? Math.floor(r() * 10) : Math.fround(r() * 2 - 1),
      ),
    });
  }
  return out;
}

describe("halfWeights", () => {
  it("keeps at f16 exactly the frozen weights that only matmuls read", () => {
    const { graph } = model();
    const half = halfWeights(graph);
    verifyGraph(half);
    const dtypes = Object.fromEntries(
      half.nodes.flatMap((n) => (n.op === "param" ? [[n.attrs.name, n.dtype]] : [])),
    );
    expect(dtypes).toEqual({
      "linear.weight": "f16",
      "linear.bias": "f32",
      "norm.weight": "f32",
      prompt: "f32",
      proj: "f16",
      shared: "f32",
      embed: "f16",
    });
    expect(half.nodes.filter((n) => n.op === "cast")).toHaveLength(3);
    expect(half.nodes.find((n) => n.op === "gather")!.dtype).toBe("f16");
  });

  it("computes the f32 graph with those weights rounded to f16", () => {
    const { graph, y } = model();
    const f = feeds(graph);
    const rounded = new Map(f);
    for (const n of graph.nodes) {
      if (n.op === "param" && ["linear.weight", "proj", "embed"].includes(n.attrs.name)) {
        const t = f.get(n.id)!;
        rounded.set(n.id, { shape: t.shape, data: Float64Array.from(t.data, roundToHalf) });
      }
    }
    const got = evaluate(halfWeights(graph), f).get(y)!.data;
    expect(got).toEqual(evaluate(graph, rounded).get(y)!.data);
    expect(got).not.toEqual(evaluate(graph, f).get(y)!.data);
  });

  it("leaves a graph without such weights as it is", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [2, 2]);
    const w = b.param("w", [2, 2], { trainable: true });
    b.output("y", b.matmul(x, w));
    const graph = b.build();
    expect(halfWeights(graph)).toBe(graph);
  });
});
