// Constant folding, CSE, dead-code removal, freeze analysis and the verifier.

import { describe, expect, it } from "vitest";
import { gradients } from "../../compiler/graph/autodiff.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { layerNorm, softmax } from "../../compiler/graph/composites.ts";
import { GraphError } from "../../compiler/graph/errors.ts";
import type { AnyNode, Graph, ValueId } from "../../compiler/graph/graph.ts";
import { foldConstants } from "../../compiler/graph/passes/constant-fold.ts";
import { eliminateCommonSubexpressions } from "../../compiler/graph/passes/cse.ts";
import { eliminateDeadCode } from "../../compiler/graph/passes/dce.ts";
import { analyzeFreeze } from "../../compiler/graph/passes/freeze.ts";
import { verifyGraph } from "../../compiler/graph/verify.ts";
import { evaluate, evaluateNode } from "../../runtime/reference/interpreter.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";
import { expectClose, randomTensor, rng } from "./helpers.ts";

function outputsOf(g: Graph, feeds: Map<ValueId, Tensor>): Float64Array[] {
  const values = evaluate(g, feeds);
  return g.outputs.map((o) => values.get(o.value)!.data);
}

function ops(g: Graph): string[] {
  return g.nodes.map((n) => n.op);
}

describe("passes", () => {
  it("constant folding replaces constant subgraphs by their values, keeping ids and results", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [2, 3]);
    const cf = b.exp(b.cast(b.mul(b.iota([2, 3], 1), 2), "f32"));
    const uniform = b.add(b.full([3], 2), b.full([3], 3));
    const y = b.add(b.mul(x, cf), uniform);
    b.output("y", y);
    const g = b.build();
    const folded = foldConstants(g, evaluateNode);
    verifyGraph(folded);
    const feeds = new Map([[x.id, randomTensor(rng(1), [2, 3])]]);
    expect(outputsOf(folded, feeds)).toEqual(outputsOf(g, feeds));
    const byId = new Map(folded.nodes.map((n) => [n.id, n]));
    expect(byId.get(cf.id)!.op).toBe("constant");
    expect(byId.get(uniform.id)).toMatchObject({ op: "full", attrs: { value: 5 } });
    expect(byId.get(y.id)!.op).toBe("add");
    const small = foldConstants(g, evaluateNode, { maxElements: 3 });
    expect(new Map(small.nodes.map((n) => [n.id, n.op])).get(cf.id)).toBe("exp");
  });

  it("CSE merges equal nodes and keeps composite records consistent", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [2, 3]);
    const s1 = softmax(b, x);
    const s2 = softmax(b, x);
    const e1 = b.exp(x);
    const e2 = b.exp(x);
    b.output("y", b.add(b.add(s1, s2), b.mul(e1, e2)));
    const g = b.build();
    const merged = eliminateCommonSubexpressions(g);
    verifyGraph(merged);
    const feeds = new Map([[x.id, randomTensor(rng(2), [2, 3])]]);
    expect(outputsOf(merged, feeds)).toEqual(outputsOf(g, feeds));
    expect(merged.nodes.length).toBeLessThan(g.nodes.length);
    expect(merged.nodes.filter((n) => n.op === "div").length).toBe(1);
    expect(merged.composites.map((c) => c.kind)).toEqual(["softmax"]);
  });

  it("dead-code removal keeps what outputs need plus the interface", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [3]);
    const unused = b.input("unused", [3]);
    b.exp(unused);
    softmax(b, x);
    b.output("y", b.neg(x));
    const g = eliminateDeadCode(b.build());
    verifyGraph(g);
    expect(ops(g)).toEqual(["input", "input", "neg"]);
    expect(g.composites).toEqual([]);
  });

  it("freeze analysis finds values independent of trainable params and random ops", () => {
    const b = new GraphBuilder();
    const image = b.input("image", [2, 4]);
    const backbone = b.param("backbone", [4, 4], { trainable: false });
    const adapter = b.param("adapter", [4, 4]);
    const features = b.tanh(b.matmul(image, backbone));
    const noisy = b.add(features, b.randomNormal([2, 4], 1));
    const adapted = b.matmul(noisy, adapter);
    b.output("out", adapted);
    const { frozen, frontier } = analyzeFreeze(b.build());
    expect([...frozen].sort((p, q) => p - q)).toEqual(
      [image.id, backbone.id, features.id - 1, features.id].sort((p, q) => p - q),
    );
    expect(frozen.has(noisy.id) || frozen.has(adapted.id) || frozen.has(adapter.id)).toBe(false);
    expect(frontier).toEqual([features.id]);
  });

  it("the pipeline fold -> CSE -> DCE keeps a trained graph's values and gradients", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [3, 4]);
    const w = b.param("w", [4]);
    const y = layerNorm(b, x, w, undefined);
    const loss = b.sum(b.mul(y, b.exp(b.full([4], 0.5))));
    b.output("loss", loss);
    const { graph } = gradients(b.build(), loss.id);
    const r = rng(4);
    const feeds = new Map([
      [x.id, randomTensor(r, [3, 4])],
      [w.id, randomTensor(r, [4])],
    ]);
    let g = graph;
    for (const pass of [
      (h: Graph) => foldConstants(h, evaluateNode),
      eliminateCommonSubexpressions,
      eliminateDeadCode,
    ]) {
      g = pass(g);
      verifyGraph(g);
    }
    const want = outputsOf(graph, feeds);
    for (const [i, got] of outputsOf(g, feeds).entries()) expectClose(got, want[i]!, 1e-15, 1e-12);
    expect(g.nodes.length).toBeLessThan(graph.nodes.length);
  });
});

describe("verifier", () => {
  const b = new GraphBuilder();
  const x = b.input("x", [2, 3]);
  const y = b.exp(x);
  b.output("y", y);
  const good = b.build();
  const withNode = (i: number, patch: Partial<AnyNode>): Graph => ({
    ...good,
    nodes: good.nodes.map((n, k) => (k === i ? ({ ...n, ...patch } as AnyNode) : n)),
  });

  it("accepts a built graph", () => {
    expect(() => verifyGraph(good)).not.toThrow();
  });

  it.each([
    ["a use before definition", withNode(1, { inputs: [5] }), /before its definition/],
    ["a stale shape", withNode(1, { shape: [3, 2] }), /its rule gives/],
    ["a duplicate id", withNode(1, { id: 0 }), /defined twice/],
    [
      "bad attributes",
      withNode(0, { attrs: { name: "x", shape: [2, 3] } } as Partial<AnyNode>),
      /missing attribute/,
    ],
    ["an unknown output", { ...good, outputs: [{ name: "z", value: 9 }] }, /unknown value/],
  ])("rejects %s", (_, graph, message) => {
    expect(() => verifyGraph(graph as Graph)).toThrow(message);
    expect(() => verifyGraph(graph as Graph)).toThrow(GraphError);
  });
});
