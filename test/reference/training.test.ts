// End to end on the reference interpreter: graphs built with the builder, parameters drawn
// from the graph's own Philox ops, gradients from autodiff, updates from plain SGD/Adam.

import { describe, expect, it } from "vitest";
import { gradients } from "../../compiler/graph/autodiff.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { crossEntropy, gelu, layerNorm } from "../../compiler/graph/composites.ts";
import type { Value, ValueId } from "../../compiler/graph/graph.ts";
import { linear, multiHeadAttention } from "../../compiler/graph/layers.ts";
import { verifyGraph } from "../../compiler/graph/verify.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import { adam, type Optimizer, sgd } from "../../runtime/reference/optimizer.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";
import { rng } from "../graph/helpers.ts";

interface Model {
  readonly b: GraphBuilder;
  readonly loss: Value;
  readonly feeds: Map<ValueId, Tensor>;
  /** Standard deviation of each param's normal initialisation; 0 means zeros, a negative -c means the constant c. */
  readonly init: Map<Value, number>;
}

function modelBuilder(b: GraphBuilder) {
  const init = new Map<Value, number>();
  const param = (name: string, shape: number[], std: number) => {
    const p = b.param(name, shape);
    init.set(p, std);
    return p;
  };
  return { init, param };
}

/** Initial values from a graph of random_normal ops, so a seed fixes them on every backend. */
function initialise(model: Model, seed: number): Map<ValueId, Tensor> {
  const b = new GraphBuilder();
  let offset = 0;
  const made = [...model.init].map(([p, std]) => {
    const v = std > 0 ? b.mul(b.randomNormal(p.shape, seed, offset), std) : b.full(p.shape, -std);
    offset += p.shape.reduce((a, d) => a * d, 1);
    return [p.id, v] as const;
  });
  const values = evaluate(b.build(), new Map());
  return new Map(
    made.map(([id, v]) => [id, { shape: v.shape, data: Float64Array.from(values.get(v.id)!.data) }]),
  );
}

function train(model: Model, opt: Optimizer, steps: number, seed: number): number[] {
  const { graph, grads } = gradients(model.b.build(), model.loss.id);
  verifyGraph(graph);
  const params = initialise(model, seed);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const values = evaluate(graph, new Map([...model.feeds, ...params]));
    losses.push(values.get(model.loss.id)!.data[0]!);
    opt.step(params, new Map([...grads].map(([p, g]) => [p, values.get(g)!])));
  }
  return losses;
}

/** Two-class points in [-1, 1]^2, labelled by the sign of x*y (XOR of the quadrants). */
function mlp(): Model {
  const r = rng(11);
  const n = 64;
  const points = Array.from({ length: 2 * n }, () => 2 * r() - 1);
  const labels = Array.from({ length: n }, (_, i) => (points[2 * i]! * points[2 * i + 1]! > 0 ? 1 : 0));
  const b = new GraphBuilder();
  const { init, param } = modelBuilder(b);
  const x = b.input("x", [n, 2]);
  const y = b.input("y", [n], "i32");
  const h1 = b.tanh(linear(b, x, param("w1", [16, 2], 1), param("b1", [16], 0)));
  const h2 = b.tanh(linear(b, h1, param("w2", [16, 16], 0.25), param("b2", [16], 0)));
  const logits = linear(b, h2, param("w3", [2, 16], 0.25), param("b3", [2], 0));
  const loss = crossEntropy(b, logits, y);
  const feeds = new Map<ValueId, Tensor>([
    [x.id, { shape: [n, 2], data: Float64Array.from(points) }],
    [y.id, { shape: [n], data: Float64Array.from(labels) }],
  ]);
  return { b, loss, feeds, init };
}

/** Token sequences; the target at each position is the previous token (the first: itself). */
function transformer(): Model {
  const r = rng(12);
  const [batch, len, vocab, dim, heads] = [8, 6, 5, 16, 2];
  const tokens = Array.from({ length: batch * len }, () => Math.floor(r() * vocab));
  const targets = tokens.map((t, i) => (i % len === 0 ? t : tokens[i - 1]!));
  const b = new GraphBuilder();
  const { init, param } = modelBuilder(b);
  const ids = b.input("tokens", [batch, len], "i32");
  const want = b.input("targets", [batch, len], "i32");
  const lin = (name: string, out: number, inp: number) => ({
    weight: param(`${name}.weight`, [out, inp], 1 / Math.sqrt(inp)),
    bias: param(`${name}.bias`, [out], 0),
  });
  const norm = (x: Value, name: string) =>
    layerNorm(b, x, param(`${name}.weight`, [dim], -1), param(`${name}.bias`, [dim], 0));
  let x: Value = b.add(b.gather(param("embed", [vocab, dim], 1), ids, 0), param("pos", [len, dim], 0.5));
  const h = norm(x, "ln_1");
  const attn = {
    q: lin("q", dim, dim),
    k: lin("k", dim, dim),
    v: lin("v", dim, dim),
    out: lin("o", dim, dim),
  };
  x = b.add(x, multiHeadAttention(b, h, h, attn, heads, { causal: true }));
  const up = lin("fc", 2 * dim, dim);
  const down = lin("proj", dim, 2 * dim);
  x = b.add(x, linear(b, gelu(b, linear(b, norm(x, "ln_2"), up.weight, up.bias)), down.weight, down.bias));
  const head = lin("head", vocab, dim);
  const logits = linear(b, norm(x, "ln_f"), head.weight, head.bias);
  const loss = crossEntropy(b, logits, want);
  const feeds = new Map<ValueId, Tensor>([
    [ids.id, { shape: [batch, len], data: Float64Array.from(tokens) }],
    [want.id, { shape: [batch, len], data: Float64Array.from(targets) }],
  ]);
  return { b, loss, feeds, init };
}

describe("training on the reference interpreter", () => {
  it("an MLP learns XOR with Adam: loss falls at least 10x", () => {
    const losses = train(mlp(), adam({ lr: 0.05 }), 150, 1);
    console.log(`MLP loss ${losses[0]!.toFixed(4)} -> ${losses.at(-1)!.toFixed(4)}`);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! / 10);
  });

  it("an MLP trains with SGD with momentum: loss falls at least 10x", () => {
    const losses = train(mlp(), sgd({ lr: 0.2, momentum: 0.9 }), 150, 2);
    console.log(`MLP (SGD) loss ${losses[0]!.toFixed(4)} -> ${losses.at(-1)!.toFixed(4)}`);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! / 10);
  });

  it("a one-block causal transformer learns to copy the previous token: loss falls at least 20x", () => {
    const losses = train(transformer(), adam({ lr: 0.02 }), 80, 3);
    console.log(`transformer loss ${losses[0]!.toFixed(4)} -> ${losses.at(-1)!.toFixed(4)}`);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! / 20);
  });

  it("the same seed gives identical numbers; another seed different ones", () => {
    const a = train(mlp(), adam({ lr: 0.05 }), 10, 7);
    const again = train(mlp(), adam({ lr: 0.05 }), 10, 7);
    const other = train(mlp(), adam({ lr: 0.05 }), 10, 8);
    expect(again).toEqual(a);
    expect(other).not.toEqual(a);
  });
});
