// The reference interpreter: every primitive in plain TypeScript over Float64Array. It is the
// oracle for the WGSL kernels, fusion and autodiff, and the `--backend reference` fallback.

import type { AnyNode, Graph, Node, ValueId } from "../../compiler/graph/graph.ts";
import type { Op } from "../../compiler/graph/ops.ts";
import { roundToHalf } from "../formats/half.ts";
import { BINARY, mapBroadcast, mapUnary, UNARY } from "./elementwise.ts";
import { matmul } from "./matmul.ts";
import { broadcast, concat, gather, pad, permute, scatterAdd, slice, takeAlongAxis } from "./movement.ts";
import { normalAt, uniformAt } from "./philox.ts";
import { reduce } from "./reduce.ts";
import { numel, strides, type Tensor } from "./tensor.ts";

type Kernel<K extends Op> = (node: Node<K>, inputs: readonly Tensor[]) => Tensor;

const fromFeed: Kernel<"input" | "param"> = (node) => {
  throw new Error(`${node.op} '${node.attrs.name}' (%${node.id}) needs a feed`);
};

const unary =
  (f: (x: number) => number): Kernel<Op> =>
  (_, [x]) =>
    mapUnary(x!, f);

const binary =
  (f: (a: number, b: number) => number): Kernel<Op> =>
  (node, [a, b]) =>
    mapBroadcast(node.shape, [a!, b!], f);

const random =
  (f: (seed: number, n: number) => number): Kernel<"random_uniform" | "random_normal"> =>
  (node) => {
    const { seed, offset } = node.attrs;
    const data = new Float64Array(numel(node.shape));
    for (let i = 0; i < data.length; i++) data[i] = f(seed, offset + i);
    return { shape: node.shape, data };
  };

function castValue(dtype: string): (x: number) => number {
  if (dtype === "i32") return Math.trunc;
  if (dtype === "bool") return (x) => (x !== 0 ? 1 : 0);
  return (x) => x;
}

const KERNELS: { readonly [K in Op]: Kernel<K> } = {
  input: fromFeed,
  param: fromFeed,
  constant: (node) => ({ shape: node.shape, data: Float64Array.from(node.attrs.data) }),
  full: (node) => ({ shape: node.shape, data: new Float64Array(numel(node.shape)).fill(node.attrs.value) }),
  iota: (node) => {
    const { axis } = node.attrs;
    const stride = strides(node.shape)[axis]!;
    const size = node.shape[axis]!;
    const data = new Float64Array(numel(node.shape));
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(i / stride) % size;
    return { shape: node.shape, data };
  },
  random_uniform: random(uniformAt),
  random_normal: random(normalAt),
  neg: unary(UNARY.neg),
  exp: unary(UNARY.exp),
  log: unary(UNARY.log),
  sqrt: unary(UNARY.sqrt),
  rsqrt: unary(UNARY.rsqrt),
  reciprocal: unary(UNARY.reciprocal),
  tanh: unary(UNARY.tanh),
  sigmoid: unary(UNARY.sigmoid),
  softplus: unary(UNARY.softplus),
  abs: unary(UNARY.abs),
  erf: unary(UNARY.erf),
  relu: unary(UNARY.relu),
  sin: unary(UNARY.sin),
  cos: unary(UNARY.cos),
  sign: unary(UNARY.sign),
  floor: unary(UNARY.floor),
  cast: (node, [x]) => mapUnary(x!, castValue(node.attrs.dtype)),
  stop_gradient: unary(UNARY.stop_gradient),
  add: binary(BINARY.add),
  sub: binary(BINARY.sub),
  mul: binary(BINARY.mul),
  div: binary(BINARY.div),
  pow: binary(BINARY.pow),
  maximum: binary(BINARY.maximum),
  minimum: binary(BINARY.minimum),
  eq: binary(BINARY.eq),
  ne: binary(BINARY.ne),
  lt: binary(BINARY.lt),
  le: binary(BINARY.le),
  gt: binary(BINARY.gt),
  ge: binary(BINARY.ge),
  select: (node, [c, a, b]) => mapBroadcast(node.shape, [c!, a!, b!], (cv, av, bv) => (cv !== 0 ? av : bv)),
  sum: (node, [x]) => reduce("sum", x!, node.attrs.axes, node.shape),
  max: (node, [x]) => reduce("max", x!, node.attrs.axes, node.shape),
  argmax: (node, [x]) => reduce("argmax", x!, node.attrs.axes, node.shape),
  reshape: (node, [x]) => ({ shape: node.shape, data: x!.data }),
  permute: (node, [x]) => permute(x!, node.attrs.perm),
  broadcast: (node, [x]) => broadcast(x!, node.shape),
  slice: (node, [x]) => slice(x!, node.attrs.starts, node.attrs.steps, node.shape),
  concat: (node, xs) => concat(xs, node.attrs.axis, node.shape),
  pad: (node, [x]) => pad(x!, node.attrs.before, node.attrs.interior, node.attrs.value, node.shape),
  gather: (node, [x, idx]) => gather(x!, idx!, node.attrs.axis, node.shape),
  take_along_axis: (node, [x, idx]) => takeAlongAxis(x!, idx!, node.attrs.axis),
  scatter_add: (node, [base, idx, upd]) => scatterAdd(base!, idx!, upd!, node.attrs.axis),
  matmul: (node, [a, b]) => matmul(a!, b!, node.attrs.transA, node.attrs.transB, node.shape),
};

/** One node's value from its operands' values. Sources other than input and param need no operands. */
export function evaluateNode(node: AnyNode, inputs: readonly Tensor[]): Tensor {
  return (KERNELS[node.op] as Kernel<Op>)(node, inputs);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function roundedToHalf(t: Tensor): Tensor {
  return { shape: t.shape, data: Float64Array.from(t.data, roundToHalf) };
}

/**
 * Evaluates `graph` given a tensor for every input and param node (keyed by node id) and returns
 * the value of every node. Tensors never alias their feeds except through reshape.
 */
export function evaluate(graph: Graph, feeds: ReadonlyMap<ValueId, Tensor>): Map<ValueId, Tensor> {
  const values = new Map<ValueId, Tensor>();
  for (const node of graph.nodes) {
    let result: Tensor;
    if (node.op === "input" || node.op === "param") {
      const fed = feeds.get(node.id);
      if (!fed) throw new Error(`${node.op} '${node.attrs.name}' (%${node.id}) has no feed`);
      if (!sameShape(fed.shape, node.shape)) {
        throw new Error(
          `feed for '${node.attrs.name}' has shape [${fed.shape.join(", ")}], expected [${node.shape.join(", ")}]`,
        );
      }
      result = fed;
    } else {
      result = evaluateNode(
        node,
        node.inputs.map((i) => values.get(i)!),
      );
    }
    // An f16 value holds what f16 can: a feed or result rounded to it, as the device stores it.
    values.set(node.id, node.dtype === "f16" ? roundedToHalf(result) : result);
  }
  return values;
}
