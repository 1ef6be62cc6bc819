// Builds graphs node by node, checking each against its shape rule as it is added. Meant for
// the language lowering (ops by name, named attributes, shapes already numbers), for composites
// and for gradient rules. Numbers given where a value is expected become scalar constants.

import { validateAttrs } from "./attrs.ts";
import { GraphError } from "./errors.ts";
import type {
  AnyNode,
  CompositeKind,
  CompositeRecord,
  CompositeTag,
  Graph,
  GraphOutput,
  Node,
  SourceSpan,
  Value,
  ValueId,
} from "./graph.ts";
import { arity, type DType, isOp, type Op, type OpAttrs, type OpOf } from "./ops.ts";
import { broadcastsTo, inferType, normalizeAxis } from "./shapes.ts";

export type Operand = Value | number;

export interface CompositeBody {
  readonly output: Value;
  readonly saved?: Readonly<Record<string, Value>>;
}

export class GraphBuilder {
  private readonly nodes: AnyNode[] = [];
  private readonly byId = new Map<ValueId, AnyNode>();
  private readonly outputs: GraphOutput[] = [];
  private readonly composites: CompositeRecord[] = [];
  private nextId = 0;
  private nextComposite = 0;
  private span: SourceSpan | undefined;
  private tag: CompositeTag | undefined;

  /** A builder that appends to `graph`, keeping its node ids. */
  static from(graph: Graph): GraphBuilder {
    const b = new GraphBuilder();
    for (const n of graph.nodes) b.push(n);
    b.outputs.push(...graph.outputs);
    b.composites.push(...graph.composites);
    b.nextComposite = Math.max(0, ...graph.composites.map((c) => c.id + 1));
    return b;
  }

  build(): Graph {
    return { nodes: [...this.nodes], outputs: [...this.outputs], composites: [...this.composites] };
  }

  node(id: ValueId): AnyNode {
    const n = this.byId.get(id);
    if (!n) throw new GraphError("invalid", `unknown value %${id}`);
    return n;
  }

  output(name: string, value: Value): void {
    if (this.outputs.some((o) => o.name === name))
      throw new GraphError("invalid", `duplicate output '${name}'`);
    this.outputs.push({ name, value: value.id });
  }

  /** Runs `fn` with `span` as the location of every node it adds and of every shape error it raises. */
  withSpan<T>(span: SourceSpan | undefined, fn: () => T): T {
    const saved = this.span;
    this.span = span ?? saved;
    try {
      return fn();
    } finally {
      this.span = saved;
    }
  }

  /**
   * Adds one node. Throws GraphError (with the current span) when the operands do not fit the op.
   * Axis attributes may be negative; they are stored canonical.
   */
  apply<K extends Op>(op: K, inputs: readonly Value[], attrs: OpAttrs[K]): Node<K> {
    try {
      const n = arity(op);
      if (n === "variadic" ? inputs.length === 0 : inputs.length !== n) {
        throw new GraphError(
          "arity",
          `${op} takes ${n === "variadic" ? "one or more" : n} operands, got ${inputs.length}`,
        );
      }
      for (const v of inputs) {
        const known = this.node(v.id);
        if (known.dtype !== v.dtype || known.shape.join() !== v.shape.join()) {
          throw new GraphError("invalid", `operand %${v.id} does not belong to this graph`);
        }
      }
      const t = inferType(op, inputs, attrs);
      const node = {
        id: this.nextId,
        op,
        inputs: inputs.map((v) => v.id),
        attrs: t.attrs,
        shape: [...t.shape],
        dtype: t.dtype,
        ...(this.span && { span: this.span }),
        ...(this.tag && { composite: this.tag }),
      } as Node<K>;
      this.push(node as AnyNode);
      return node;
    } catch (e) {
      throw e instanceof GraphError ? e.at(this.span) : e;
    }
  }

  /** `apply` for callers holding an op name and attributes as plain data; validates both. */
  applyByName(op: string, inputs: readonly Value[], attrs: Readonly<Record<string, unknown>>): AnyNode {
    try {
      if (!isOp(op)) throw new GraphError("attrs", `unknown op '${op}'`);
      return this.apply(op, inputs, validateAttrs(op, attrs)) as AnyNode;
    } catch (e) {
      throw e instanceof GraphError ? e.at(this.span) : e;
    }
  }

  /**
   * Runs `body` with its nodes tagged as one composite call of `kind`, and records the call.
   * Inside another composite the body's nodes join the outer call (the outer one is what fuses).
   */
  composite(
    kind: CompositeKind,
    operands: readonly Value[],
    attrs: Readonly<Record<string, number>>,
    body: () => CompositeBody,
  ): Value {
    if (this.tag) return body().output;
    const tag = { kind, id: this.nextComposite++ };
    this.tag = tag;
    let result: CompositeBody;
    try {
      result = body();
    } finally {
      this.tag = undefined;
    }
    if (this.node(result.output.id).composite?.id === tag.id) {
      const saved = Object.fromEntries(Object.entries(result.saved ?? {}).map(([k, v]) => [k, v.id]));
      this.composites.push({
        id: tag.id,
        kind,
        inputs: operands.map((v) => v.id),
        output: result.output.id,
        attrs,
        saved,
      });
    }
    return result.output;
  }

  private push(n: AnyNode): void {
    if (this.byId.has(n.id)) throw new GraphError("invalid", `value %${n.id} defined twice`);
    this.nodes.push(n);
    this.byId.set(n.id, n);
    this.nextId = Math.max(this.nextId, n.id + 1);
  }

  // Sources.

  input(name: string, shape: readonly number[], dtype: DType = "f32"): Node<"input"> {
    return this.apply("input", [], { name, shape, dtype });
  }

  param(
    name: string,
    shape: readonly number[],
    opts: { trainable?: boolean; dtype?: DType } = {},
  ): Node<"param"> {
    return this.apply("param", [], {
      name,
      shape,
      dtype: opts.dtype ?? "f32",
      trainable: opts.trainable ?? true,
    });
  }

  constant(data: readonly number[], shape: readonly number[], dtype: DType = "f32"): Node<"constant"> {
    return this.apply("constant", [], { shape, dtype, data: [...data] });
  }

  full(shape: readonly number[], value: number, dtype: DType = "f32"): Node<"full"> {
    return this.apply("full", [], { shape, dtype, value });
  }

  scalar(value: number, dtype: DType = "f32"): Node<"full"> {
    return this.full([], value, dtype);
  }

  iota(shape: readonly number[], axis: number): Node<"iota"> {
    return this.apply("iota", [], { shape, axis });
  }

  randomUniform(shape: readonly number[], seed: number, offset = 0): Node<"random_uniform"> {
    return this.apply("random_uniform", [], { shape, seed, offset });
  }

  randomNormal(shape: readonly number[], seed: number, offset = 0): Node<"random_normal"> {
    return this.apply("random_normal", [], { shape, seed, offset });
  }

  // Elementwise.

  unary(op: Exclude<OpOf<"unary">, "cast">, x: Value): Node {
    return this.apply(op, [x], {});
  }

  neg = (x: Value) => this.unary("neg", x);
  exp = (x: Value) => this.unary("exp", x);
  log = (x: Value) => this.unary("log", x);
  sqrt = (x: Value) => this.unary("sqrt", x);
  rsqrt = (x: Value) => this.unary("rsqrt", x);
  reciprocal = (x: Value) => this.unary("reciprocal", x);
  tanh = (x: Value) => this.unary("tanh", x);
  sigmoid = (x: Value) => this.unary("sigmoid", x);
  softplus = (x: Value) => this.unary("softplus", x);
  abs = (x: Value) => this.unary("abs", x);
  erf = (x: Value) => this.unary("erf", x);
  relu = (x: Value) => this.unary("relu", x);
  sin = (x: Value) => this.unary("sin", x);
  cos = (x: Value) => this.unary("cos", x);
  sign = (x: Value) => this.unary("sign", x);
  stopGradient = (x: Value) => this.unary("stop_gradient", x);

  cast(x: Value, dtype: DType): Value {
    return x.dtype === dtype ? x : this.apply("cast", [x], { dtype });
  }

  /** A number operand becomes a scalar constant of the other operand's dtype. */
  binary(op: OpOf<"binary"> | OpOf<"compare">, a: Operand, b: Operand): Node {
    const [x, y] = this.lift(a, b);
    return this.apply(op, [x, y], {});
  }

  add = (a: Operand, b: Operand) => this.binary("add", a, b);
  sub = (a: Operand, b: Operand) => this.binary("sub", a, b);
  mul = (a: Operand, b: Operand) => this.binary("mul", a, b);
  div = (a: Operand, b: Operand) => this.binary("div", a, b);
  pow = (a: Operand, b: Operand) => this.binary("pow", a, b);
  maximum = (a: Operand, b: Operand) => this.binary("maximum", a, b);
  minimum = (a: Operand, b: Operand) => this.binary("minimum", a, b);
  eq = (a: Operand, b: Operand) => this.binary("eq", a, b);
  ne = (a: Operand, b: Operand) => this.binary("ne", a, b);
  lt = (a: Operand, b: Operand) => this.binary("lt", a, b);
  le = (a: Operand, b: Operand) => this.binary("le", a, b);
  gt = (a: Operand, b: Operand) => this.binary("gt", a, b);
  ge = (a: Operand, b: Operand) => this.binary("ge", a, b);

  select(cond: Value, a: Operand, b: Operand): Node<"select"> {
    const [x, y] = this.lift(a, b);
    return this.apply("select", [cond, x, y], {});
  }

  private lift(a: Operand, b: Operand): [Value, Value] {
    if (typeof a === "number" && typeof b === "number") return [this.scalar(a), this.scalar(b)];
    if (typeof a === "number") return [this.scalar(a, (b as Value).dtype), b as Value];
    if (typeof b === "number") return [a, this.scalar(b, a.dtype)];
    return [a, b];
  }

  // Reductions; `axes` may be negative and defaults to all axes.

  sum(x: Value, axes?: readonly number[], keepdims = false): Node<"sum"> {
    return this.apply("sum", [x], { axes: axes ?? x.shape.map((_, i) => i), keepdims });
  }

  max(x: Value, axes?: readonly number[], keepdims = false): Node<"max"> {
    return this.apply("max", [x], { axes: axes ?? x.shape.map((_, i) => i), keepdims });
  }

  argmax(x: Value, axes: readonly number[], keepdims = false): Node<"argmax"> {
    return this.apply("argmax", [x], { axes, keepdims });
  }

  mean(x: Value, axes?: readonly number[], keepdims = false): Value {
    const s = this.sum(x, axes, keepdims);
    const count =
      x.shape.reduce((p, d) => p * d, 1) /
      Math.max(
        1,
        s.shape.reduce((p, d) => p * d, 1),
      );
    return this.div(s, count);
  }

  // Movement.

  reshape(x: Value, shape: readonly number[]): Value {
    return sameShape(x.shape, shape) ? x : this.apply("reshape", [x], { shape });
  }

  permute(x: Value, perm: readonly number[]): Value {
    return perm.every((p, i) => p === i) ? x : this.apply("permute", [x], { perm });
  }

  /** Swaps the last two axes. */
  transpose(x: Value): Value {
    const r = x.shape.length;
    return this.permute(
      x,
      x.shape.map((_, i) => (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i)),
    );
  }

  broadcast(x: Value, shape: readonly number[]): Value {
    return sameShape(x.shape, shape) ? x : this.apply("broadcast", [x], { shape });
  }

  slice(
    x: Value,
    starts: readonly number[],
    ends: readonly number[],
    steps?: readonly number[],
  ): Node<"slice"> {
    return this.apply("slice", [x], { starts, ends, steps: steps ?? starts.map(() => 1) });
  }

  /** x[start:end:step] along one axis. */
  sliceAxis(x: Value, axis: number, start: number, end: number, step = 1): Node<"slice"> {
    const a = normalizeAxis(axis, x.shape.length, "slice");
    return this.slice(
      x,
      x.shape.map((_, i) => (i === a ? start : 0)),
      x.shape.map((d, i) => (i === a ? end : d)),
      x.shape.map((_, i) => (i === a ? step : 1)),
    );
  }

  concat(xs: readonly Value[], axis: number): Node<"concat"> {
    return this.apply("concat", xs, { axis });
  }

  pad(
    x: Value,
    before: readonly number[],
    after: readonly number[],
    value = 0,
    interior?: readonly number[],
  ): Node<"pad"> {
    return this.apply("pad", [x], { before, after, interior: interior ?? before.map(() => 0), value });
  }

  gather(x: Value, idx: Value, axis: number): Node<"gather"> {
    return this.apply("gather", [x, idx], { axis });
  }

  takeAlongAxis(x: Value, idx: Value, axis: number): Node<"take_along_axis"> {
    return this.apply("take_along_axis", [x, idx], { axis });
  }

  scatterAdd(base: Value, idx: Value, updates: Value, axis: number): Node<"scatter_add"> {
    return this.apply("scatter_add", [base, idx, updates], { axis });
  }

  matmul(a: Value, b: Value, opts: { transA?: boolean; transB?: boolean } = {}): Node<"matmul"> {
    return this.apply("matmul", [a, b], { transA: opts.transA ?? false, transB: opts.transB ?? false });
  }

  /** Sums `g` down to `shape`, the inverse of numpy broadcasting (`shape` must broadcast to g's shape). */
  sumTo(g: Value, shape: readonly number[]): Value {
    if (sameShape(g.shape, shape)) return g;
    if (!broadcastsTo(shape, g.shape)) {
      throw new GraphError(
        "shape",
        `cannot reduce [${g.shape.join(", ")}] to [${shape.join(", ")}]`,
        this.span,
      );
    }
    const lead = g.shape.length - shape.length;
    const axes = g.shape.flatMap((d, i) => (i < lead || (shape[i - lead] === 1 && d !== 1) ? [i] : []));
    return this.reshape(this.sum(g, axes, true), shape);
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
