// Lowering a tensor graph to a kernel plan: which values live on the device, which kernel writes
// each, in which order. Pure (no device): fusion decisions and WGSL are all decided here.
//
//  - Only nodes the requested outputs depend on are kept.
//  - Closed softmax (last axis) and layernorm composites become one row kernel each.
//  - Elementwise nodes (unary, binary, compare, select, fills, iota, random) fuse into the kernel
//    of their consumer when every consumer is in that kernel and the shapes agree; scalar constants
//    become literals; a broadcast feeding an elementwise kernel becomes its index math.
//  - Prologues and epilogues: an elementwise group that is a matmul's only consumer (bias add,
//    QuickGELU/GELU, scale, mask) is folded into the matmul's store; one whose only consumer is a
//    softmax or layernorm row kernel or a sum/max reduction of its shape (scale and mask before
//    softmax, a residual add before layernorm) is evaluated where that kernel reads its input.
//  - Reshape is free: it aliases its operand's storage.
//  - A large matmul operand that the register kernel would read transposed is first copied
//    row-major into a scratch value (an id past the graph's) that lives for those two steps.

import type { AnyNode, CompositeRecord, Graph, Node, ValueId } from "../../compiler/graph/graph.ts";
import { type DType, type Op, opGroup } from "../../compiler/graph/ops.ts";
import { attentionKernel, MAX_KEYS, type OperandLayout } from "../kernels/attention.ts";
import {
  type ElementwiseProgram,
  type EwOperand,
  type EwStep,
  elementwiseKernel,
} from "../kernels/elementwise.ts";
import {
  broadcastStrides,
  count,
  DEFAULT_TARGET,
  type Kernel,
  type KernelTarget,
  stridesOf,
  withHalfDirective,
} from "../kernels/kernel.ts";
import { layerNormKernel } from "../kernels/layernorm.ts";
import {
  DEFAULT_MATMUL_TILES,
  foldsEpilogue,
  type MatmulSpec,
  type MatmulTiles,
  type MatmulVariant,
  matmulKernel,
  rowMajorFirst,
} from "../kernels/matmul.ts";
import { legalizeHalf } from "./half-storage.ts";

/** The matmul kernel family and, for the register kernel, its tile per shape class. */
interface MatmulChoice {
  readonly variant: MatmulVariant;
  readonly tiles: MatmulTiles;
}

import {
  concatKernel,
  concatPieceKernel,
  gatherKernel,
  padKernel,
  scatterAddKernel,
  scatterAddSparseKernel,
  stridedCopyKernel,
  takeAlongAxisKernel,
} from "../kernels/movement.ts";
import { reduceKernel } from "../kernels/reduce.ts";
import { softmaxKernel } from "../kernels/softmax.ts";

export interface PlanStep {
  readonly kernel: Kernel;
  /** The value bound at each of the kernel's bindings, in binding order. */
  readonly args: readonly ValueId[];
  /** The values this step writes (its read_write bindings). */
  readonly writes: readonly ValueId[];
  /** The graph nodes this step computes (for profiles and error messages). */
  readonly covers: readonly ValueId[];
}

export interface PlanValue {
  readonly id: ValueId;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly bytes: number;
}

export interface KernelPlan {
  readonly steps: readonly PlanStep[];
  /** Every value that has storage (aliases excluded). */
  readonly values: ReadonlyMap<ValueId, PlanValue>;
  /** Reshapes: value -> the value whose storage it shares. */
  readonly aliases: ReadonlyMap<ValueId, ValueId>;
  /** Input and param nodes to upload before each run. */
  readonly feeds: readonly ValueId[];
  /** Constant tensors, uploaded once; they keep their storage for the plan's life. */
  readonly constants: ReadonlyMap<ValueId, readonly number[]>;
  readonly outputs: readonly ValueId[];
}

export interface LowerOptions {
  readonly matmul?: MatmulVariant;
  /** The register kernel's tile per shape class (default DEFAULT_MATMUL_TILES; autotune.ts measures them). */
  readonly matmulTiles?: MatmulTiles;
  readonly target?: KernelTarget;
  /** Fuse elementwise chains and composites (default true); false gives one kernel per primitive. */
  readonly fuse?: boolean;
  /** Most storage bindings one kernel may have (the device's maxStorageBuffersPerShaderStage). */
  readonly maxBindings?: number;
}

const ELEMENTWISE_GROUPS = new Set(["unary", "binary", "compare", "ternary"]);
const ELEMENTWISE_SOURCES = new Set<Op>(["full", "iota", "random_uniform", "random_normal"]);

function isElementwise(n: AnyNode): boolean {
  return ELEMENTWISE_GROUPS.has(opGroup(n.op)) || ELEMENTWISE_SOURCES.has(n.op);
}

function isScalarLiteral(n: AnyNode): boolean {
  return (n.op === "full" || n.op === "constant") && count(n.shape) === 1;
}

function literalValue(n: AnyNode): number {
  return n.op === "full" ? n.attrs.value : (n as Node<"constant">).attrs.data[0]!;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Values (bytes rounded up to 16 so that every binding is valid, even of an empty tensor). */
function bytesOf(shape: readonly number[], dtype: DType): number {
  return Math.max(16, Math.ceil((count(shape) * (dtype === "f16" ? 2 : 4)) / 16) * 16);
}

export function lowerGraph(given: Graph, outputs: readonly ValueId[], opts: LowerOptions = {}): KernelPlan {
  const target = opts.target ?? DEFAULT_TARGET;
  const graph = legalizeHalf(given, target.shaderF16 ?? false);
  const matmulChoice: MatmulChoice = {
    variant: opts.matmul ?? "register",
    tiles: opts.matmulTiles ?? DEFAULT_MATMUL_TILES,
  };
  const fuse = opts.fuse ?? true;
  const maxBindings = opts.maxBindings ?? 8;
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  for (const o of outputs) if (!byId.has(o)) throw new Error(`unknown output value %${o}`);

  // Live nodes: what the outputs depend on.
  const live = new Set<ValueId>(outputs);
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i]!;
    if (live.has(n.id)) for (const x of n.inputs) live.add(x);
  }
  const nodes = graph.nodes.filter((n) => live.has(n.id));
  const outputSet = new Set(outputs);
  const scratch = new Scratch(graph.nodes.reduce((a, n) => Math.max(a, n.id), -1) + 1);

  // Fused composites: record.output -> record, and the internal nodes they cover.
  const fusedComposites = new Map<ValueId, { record: CompositeRecord; saved: Map<string, ValueId> }>();
  const covered = new Set<ValueId>();
  if (fuse) {
    const users = new Map<ValueId, ValueId[]>();
    for (const n of nodes) for (const x of n.inputs) users.set(x, [...(users.get(x) ?? []), n.id]);
    for (const record of graph.composites) {
      if (!live.has(record.output)) continue;
      const inside = nodes.filter((n) => n.composite?.id === record.id).map((n) => n.id);
      const insideSet = new Set(inside);
      const saved = new Map<string, ValueId>();
      if (!fusible(record, byId)) continue;
      const savable =
        record.kind === "layernorm" || record.kind === "attention"
          ? new Set(Object.values(record.saved))
          : new Set<ValueId>();
      const closed = inside.every((id) => {
        if (id === record.output) return true;
        const escapes = outputSet.has(id) || (users.get(id) ?? []).some((u) => !insideSet.has(u));
        return !escapes || savable.has(id);
      });
      if (!closed) continue;
      for (const [name, id] of Object.entries(record.saved)) {
        if (
          id !== record.output &&
          (outputSet.has(id) || (users.get(id) ?? []).some((u) => !insideSet.has(u)))
        ) {
          saved.set(name, id);
        }
      }
      fusedComposites.set(record.output, { record, saved });
      for (const id of inside) if (id !== record.output && ![...saved.values()].includes(id)) covered.add(id);
    }
  }
  const active = nodes.filter((n) => !covered.has(n.id));

  // Consumers among active nodes; a fused composite consumes its record's inputs.
  const consumers = new Map<ValueId, ValueId[]>();
  const operandsOf = (n: AnyNode): readonly ValueId[] => {
    const fc = fusedComposites.get(n.id);
    return fc ? fc.record.inputs : n.inputs;
  };
  const savedOwner = new Map<ValueId, ValueId>();
  for (const [out, fc] of fusedComposites) for (const id of fc.saved.values()) savedOwner.set(id, out);
  for (const n of active) {
    if (savedOwner.has(n.id)) continue;
    for (const x of operandsOf(n)) consumers.set(x, [...(consumers.get(x) ?? []), n.id]);
  }

  // Elementwise groups, built from sinks backwards: member -> root.
  const groupOf = new Map<ValueId, ValueId>();
  const groupOperands = new Map<ValueId, Set<ValueId>>();
  const ewOperand = (id: ValueId): ValueId => {
    // Broadcasts fold into the reading kernel's index math.
    let v = id;
    while (fuse && byId.get(v)!.op === "broadcast") v = byId.get(v)!.inputs[0]!;
    return v;
  };
  const isLiteralInput = (id: ValueId) => fuse && isScalarLiteral(byId.get(ewOperand(id))!);
  for (let i = active.length - 1; i >= 0; i--) {
    const n = active[i]!;
    if (!isElementwise(n) || fusedComposites.has(n.id) || savedOwner.has(n.id)) continue;
    const users = consumers.get(n.id) ?? [];
    const g = users.length > 0 ? groupOf.get(users[0]!) : undefined;
    const joins =
      fuse &&
      g !== undefined &&
      !outputSet.has(n.id) &&
      !isScalarLiteral(n) &&
      users.every((u) => groupOf.get(u) === g) &&
      sameShape(n.shape, byId.get(g)!.shape);
    const own = n.inputs.filter((x) => !isLiteralInput(x)).map(ewOperand);
    if (joins) {
      const ops = new Set(groupOperands.get(g)!);
      ops.delete(n.id);
      for (const x of own) ops.add(x);
      if (ops.size + 1 <= maxBindings) {
        groupOf.set(n.id, g);
        groupOperands.set(g, ops);
        continue;
      }
    }
    groupOf.set(n.id, n.id);
    groupOperands.set(n.id, new Set(own));
  }

  // Epilogues: a matmul whose every consumer is in one elementwise group of its shape (f32 result).
  const epilogueOf = new Map<ValueId, ValueId>();
  const absorbed = new Set<ValueId>();
  // Prologues: a group whose only consumer is a row kernel or a sum/max reduction (consumer -> root).
  const prologueOf = new Map<ValueId, ValueId>();
  const prologueRoots = new Set<ValueId>();
  const batchFold = new Map<ValueId, ValueId>();
  if (fuse) {
    for (const n of active) {
      if (n.op !== "matmul" || outputSet.has(n.id) || n.dtype !== "f32" || fusedComposites.has(n.id))
        continue;
      const users = consumers.get(n.id) ?? [];
      const g = users.length > 0 ? groupOf.get(users[0]!) : undefined;
      if (g === undefined || epilogueOf.has(g) || !users.every((u) => groupOf.get(u) === g)) continue;
      const root = byId.get(g)!;
      if (!sameShape(root.shape, n.shape) || root.dtype !== "f32") continue;
      if (groupOperands.get(g)!.size + 3 > maxBindings) continue;
      const [a, b] = n.inputs.map((i) => byId.get(i)!.shape) as [number[], number[]];
      const { transA, transB } = n.attrs;
      if (!foldsEpilogue({ aShape: a, bShape: b, transA, transB, shape: n.shape }, matmulChoice.variant))
        continue;
      epilogueOf.set(g, n.id);
      absorbed.add(n.id);
    }
    // Weight gradients: the sum over every batch axis of a batched A^T B (batches not broadcast) is
    // one matmul whose k runs over batch and rows together (the operands' storage read as 2-D).
    for (const n of active) {
      if (n.op !== "sum" || n.dtype !== "f32") continue;
      const mm = byId.get(n.inputs[0]!)!;
      if (mm.op !== "matmul" || !mm.attrs.transA || mm.attrs.transB || outputSet.has(mm.id)) continue;
      if (fusedComposites.has(mm.id)) continue;
      const nb = mm.shape.length - 2;
      const [a, b] = mm.inputs.map((id) => byId.get(id)!);
      const batch = mm.shape.slice(0, nb);
      if (nb < 1 || !n.attrs.axes.every((ax, i) => ax === i) || n.attrs.axes.length !== nb) continue;
      if (!sameShape(a!.shape.slice(0, -2), batch) || !sameShape(b!.shape.slice(0, -2), batch)) continue;
      if (!(consumers.get(mm.id) ?? []).every((u) => u === n.id)) continue;
      batchFold.set(n.id, mm.id);
      absorbed.add(mm.id);
    }
    for (const n of active) {
      const fc = fusedComposites.get(n.id);
      const isReduce = (n.op === "sum" || n.op === "max") && n.dtype === "f32";
      if (!fc && !isReduce) continue;
      const x = fc ? fc.record.inputs[0]! : n.inputs[0]!;
      if (groupOf.get(x) !== x || epilogueOf.has(x) || outputSet.has(x) || prologueRoots.has(x)) continue;
      const xn = byId.get(x)!;
      if (xn.dtype !== "f32" || isScalarLiteral(xn) || xn.op === "full") continue;
      if (!(consumers.get(x) ?? []).every((u) => u === n.id)) continue;
      const extra = fc ? fc.record.inputs.length - 1 + 1 + fc.saved.size : 1;
      if (groupOperands.get(x)!.size + extra > maxBindings) continue;
      prologueOf.set(n.id, x);
      prologueRoots.add(x);
    }
  }

  // An attention whose only consumer is a permute (the head merge) writes straight into its layout.
  const outViews = new Map<ValueId, OutView>();
  if (fuse) {
    for (const [out, fc] of fusedComposites) {
      if (fc.record.kind !== "attention" || outputSet.has(out)) continue;
      const users = consumers.get(out) ?? [];
      const p = users.length === 1 ? byId.get(users[0]!)! : undefined;
      if (p?.op !== "permute") continue;
      outViews.set(out, { id: p.id, perm: p.attrs.perm });
      absorbed.add(p.id);
    }
  }

  // Steps in topological order (a group at its root's position).
  const candidates: PlanStep[] = [];
  const aliases = new Map<ValueId, ValueId>();
  const feeds: ValueId[] = [];
  const constants = new Map<ValueId, readonly number[]>();
  const members = new Map<ValueId, AnyNode[]>();
  for (const n of active) {
    const g = groupOf.get(n.id);
    if (g !== undefined) members.set(g, [...(members.get(g) ?? []), n]);
  }
  for (const n of active) {
    if (n.op === "input" || n.op === "param") {
      feeds.push(n.id);
      continue;
    }
    if (n.op === "constant") {
      // Kept only if some kernel binds it (scalars inlined as literals usually are not).
      constants.set(n.id, n.attrs.data);
      continue;
    }
    if (n.op === "reshape") {
      const src = n.inputs[0]!;
      aliases.set(n.id, aliases.get(src) ?? src);
      continue;
    }
    if (savedOwner.has(n.id) || absorbed.has(n.id)) continue;
    const program = (root: ValueId) =>
      buildProgram(byId.get(root)!, members.get(root)!, groupOf, byId, ewOperand, isLiteralInput);
    const pro = prologueOf.has(n.id) ? program(prologueOf.get(n.id)!) : undefined;
    const fc = fusedComposites.get(n.id);
    if (fc) {
      candidates.push(compositeStep(n, fc.record, fc.saved, byId, target, pro, outViews.get(n.id)));
      continue;
    }
    const g = groupOf.get(n.id);
    if (g !== undefined) {
      if (g !== n.id || prologueRoots.has(g)) continue;
      const gp = program(g);
      const mm = epilogueOf.get(g);
      if (mm !== undefined) {
        const self = gp.operandIds.indexOf(mm);
        const mmSteps = primitiveSteps(byId.get(mm)!, byId, matmulChoice, target, scratch, {
          program: gp.program,
          self,
        });
        const step = mmSteps.pop()!;
        candidates.push(...mmSteps);
        const extra = gp.operandIds.filter((_, k) => k !== self);
        const [a, b] = step.args;
        candidates.push({
          kernel: step.kernel,
          args: [a!, b!, ...extra, n.id],
          writes: [n.id],
          covers: [mm, ...gp.covers],
        });
      } else {
        candidates.push({
          kernel: elementwiseKernel(gp.program, target),
          args: [...gp.operandIds, n.id],
          writes: [n.id],
          covers: gp.covers,
        });
      }
      continue;
    }
    const folded = batchFold.get(n.id);
    if (folded !== undefined) {
      const mm = byId.get(folded)!;
      const [a, b] = mm.inputs.map((id) => byId.get(id)!);
      const rows = count(a!.shape.slice(0, -1));
      const spec = {
        aShape: [rows, a!.shape.at(-1)!],
        bShape: [rows, b!.shape.at(-1)!],
        transA: true,
        transB: false,
        shape: mm.shape.slice(-2),
      };
      const mmSteps = matmulSteps(spec, [a!, b!], matmulChoice, target, scratch, [mm.id, n.id]);
      const step = mmSteps.pop()!;
      candidates.push(...mmSteps, { ...step, args: [...step.args, n.id], writes: [n.id] });
      continue;
    }
    if (pro) {
      const x = n.inputs[0]!;
      const kernel = reduceKernel(
        {
          kind: n.op as "sum" | "max",
          shape: byId.get(x)!.shape,
          dtype: "f32",
          axes: (n as Node<"sum">).attrs.axes,
          prologue: pro.program,
        },
        target,
      );
      candidates.push({
        kernel,
        args: [...pro.operandIds, n.id],
        writes: [n.id],
        covers: [...pro.covers, n.id],
      });
      continue;
    }
    candidates.push(...primitiveSteps(n, byId, matmulChoice, target, scratch));
  }

  // Keep only steps whose results are needed: walk backwards from the outputs.
  const rootOf = (id: ValueId) => aliases.get(id) ?? id;
  const needed = new Set<ValueId>(outputs.map(rootOf));
  const steps: PlanStep[] = [];
  for (let i = candidates.length - 1; i >= 0; i--) {
    const s = candidates[i]!;
    if (!s.writes.some((w) => needed.has(w))) continue;
    steps.push(s);
    s.args.forEach((a, k) => {
      if (s.kernel.bindings[k]!.access === "read") needed.add(rootOf(a));
    });
  }
  steps.reverse();
  const values = new Map<ValueId, PlanValue>();
  const addValue = (id: ValueId) => {
    const n = byId.get(id) ?? scratch.values.get(id)!;
    values.set(id, { id, shape: n.shape, dtype: n.dtype, bytes: bytesOf(n.shape, n.dtype) });
  };
  for (const id of feeds) addValue(id);
  for (const id of constants.keys()) addValue(id);
  for (const s of steps) for (const a of s.args) if (!aliases.has(a)) addValue(a);
  for (const o of outputs) addValue(rootOf(o));
  const args = (s: PlanStep) => ({
    ...s,
    kernel: { ...s.kernel, code: withHalfDirective(s.kernel.code) },
    args: s.args.map(rootOf),
    writes: s.writes.map(rootOf),
  });
  return {
    steps: steps.map(args),
    values,
    aliases,
    feeds,
    constants: new Map([...constants].filter(([id]) => values.has(id))),
    outputs,
  };
}

function fusible(record: CompositeRecord, byId: ReadonlyMap<ValueId, AnyNode>): boolean {
  const x = byId.get(record.inputs[0]!);
  if (record.kind === "attention") {
    const [q, k, v] = record.inputs.map((id) => byId.get(id)!);
    const out = byId.get(record.output)!;
    const rank = out.shape.length;
    return (
      [q!, k!, v!, out].every((t) => t.dtype === "f32" && t.shape.length === rank) &&
      rank >= 2 &&
      k!.shape[rank - 2]! <= MAX_KEYS &&
      [q!, k!, v!].every((t) => sameShape(t.shape.slice(0, -2), out.shape.slice(0, -2)))
    );
  }
  if (x?.dtype !== "f32" || x.shape.length === 0) return false;
  const out = byId.get(record.output)!;
  if (!sameShape(out.shape, x.shape)) return false;
  if (record.kind === "softmax") return record.attrs["axis"] === x.shape.length - 1;
  if (record.kind === "layernorm") {
    const d = x.shape[x.shape.length - 1]!;
    return record.inputs.slice(1).every((id) => sameShape(byId.get(id)!.shape, [d]));
  }
  return false;
}

function compositeStep(
  n: AnyNode,
  record: CompositeRecord,
  saved: ReadonlyMap<string, ValueId>,
  byId: ReadonlyMap<ValueId, AnyNode>,
  target: KernelTarget,
  pro?: GroupProgram,
  outView?: OutView,
): PlanStep {
  const x = byId.get(record.inputs[0]!)!;
  const length = x.shape[x.shape.length - 1]!;
  const rows = count(x.shape) / length;
  const covers = [
    ...(pro?.covers ?? []),
    ...[...byId.values()].filter((m) => m.composite?.id === record.id).map((m) => m.id),
  ];
  if (record.kind === "attention") return attentionStep(n, record, saved, byId, target, outView);
  const xArgs = pro ? pro.operandIds : [x.id];
  const prologue = pro ? { prologue: pro.program } : {};
  if (record.kind === "softmax") {
    const kernel = softmaxKernel({ rows, length, ...prologue }, target);
    return { kernel, args: [...xArgs, n.id], writes: [n.id], covers };
  }
  const xhat = saved.get("xhat");
  const rstd = saved.get("rstd");
  const kernel = layerNormKernel(
    {
      rows,
      length,
      eps: record.attrs["eps"]!,
      gamma: record.attrs["gamma"] === 1,
      beta: record.attrs["beta"] === 1,
      saveXhat: xhat !== undefined,
      saveRstd: rstd !== undefined,
      ...prologue,
    },
    target,
  );
  const writes = [n.id, ...(xhat !== undefined ? [xhat] : []), ...(rstd !== undefined ? [rstd] : [])];
  return { kernel, args: [...xArgs, ...record.inputs.slice(1), ...writes], writes, covers };
}

/** Where an attention writes its result when the head-merge permute folds into its store. */
interface OutView {
  readonly id: ValueId;
  readonly perm: readonly number[];
}

/** A value read through a permute folds into the reader's strides: the stored value and its strides per axis. */
function viewOf(id: ValueId, byId: ReadonlyMap<ValueId, AnyNode>): { id: ValueId; strides: number[] } {
  const n = byId.get(id)!;
  if (n.op === "permute") {
    const src = byId.get(n.inputs[0]!)!;
    const st = stridesOf(src.shape);
    return { id: src.id, strides: n.attrs.perm.map((p) => st[p]!) };
  }
  return { id, strides: stridesOf(n.shape) };
}

function attentionStep(
  n: AnyNode,
  record: CompositeRecord,
  saved: ReadonlyMap<string, ValueId>,
  byId: ReadonlyMap<ValueId, AnyNode>,
  target: KernelTarget,
  outView?: OutView,
): PlanStep {
  const [q, k, v] = record.inputs.slice(0, 3).map((id) => viewOf(id, byId));
  const qn = byId.get(record.inputs[0]!)!;
  const kn = byId.get(record.inputs[1]!)!;
  const vn = byId.get(record.inputs[2]!)!;
  const rank = n.shape.length;
  const batch = n.shape.slice(0, -2);
  const layout = (strides: readonly number[]): OperandLayout => ({
    batch: strides.slice(0, -2),
    row: strides[rank - 2]!,
    col: strides[rank - 1]!,
  });
  let out = layout(stridesOf(n.shape));
  if (outView) {
    const ys = stridesOf(byId.get(outView.id)!.shape);
    out = layout(n.shape.map((_, a) => ys[outView.perm.indexOf(a)]!));
  }
  const maskId = record.inputs[3];
  const mask =
    maskId === undefined
      ? undefined
      : layout(
          broadcastStrides(byId.get(maskId)!.shape, [...batch, qn.shape[rank - 2]!, kn.shape[rank - 2]!]),
        );
  const probs = saved.get("probs");
  const inside = [...byId.values()].filter((m) => m.composite?.id === record.id);
  const kernel = attentionKernel(
    {
      batch,
      lq: qn.shape[rank - 2]!,
      lk: kn.shape[rank - 2]!,
      d: qn.shape[rank - 1]!,
      dv: vn.shape[rank - 1]!,
      scale: record.attrs["scale"]!,
      causal: inside.some((m) => m.op === "iota"),
      q: layout(q!.strides),
      k: layout(k!.strides),
      v: layout(v!.strides),
      out,
      ...(mask ? { mask } : {}),
      saveProbs: probs !== undefined,
    },
    target,
  );
  const result = outView?.id ?? n.id;
  const writes = [result, ...(probs !== undefined ? [probs] : [])];
  return {
    kernel,
    args: [q!.id, k!.id, v!.id, ...(maskId !== undefined ? [maskId] : []), ...writes],
    writes,
    covers: [...inside.map((m) => m.id), ...(outView ? [outView.id] : [])],
  };
}

interface GroupProgram {
  readonly program: ElementwiseProgram;
  /** The value bound for each of the program's operands. */
  readonly operandIds: readonly ValueId[];
  readonly covers: readonly ValueId[];
}

function buildProgram(
  root: AnyNode,
  members: readonly AnyNode[],
  groupOf: ReadonlyMap<ValueId, ValueId>,
  byId: ReadonlyMap<ValueId, AnyNode>,
  ewOperand: (id: ValueId) => ValueId,
  isLiteralInput: (id: ValueId) => boolean,
): GroupProgram {
  const steps: EwStep[] = [];
  const operands: EwOperand[] = [];
  const operandIds: ValueId[] = [];
  const stepOf = new Map<string, number>();
  const add = (key: string, s: EwStep) => {
    let k = stepOf.get(key);
    if (k === undefined) {
      k = steps.length;
      steps.push(s);
      stepOf.set(key, k);
    }
    return k;
  };
  const ref = (id: ValueId): number => {
    if (groupOf.get(id) === root.id && stepOf.has(`n${id}`)) return stepOf.get(`n${id}`)!;
    const src = byId.get(ewOperand(id))!;
    if (isLiteralInput(id)) {
      const v = literalValue(src);
      return add(`l${src.dtype}:${Object.is(v, -0) ? "-0" : v}`, {
        kind: "literal",
        value: v,
        dtype: src.dtype,
      });
    }
    const op = ewOperand(id);
    let k = operandIds.indexOf(op);
    if (k < 0) {
      k = operandIds.length;
      operandIds.push(op);
      operands.push({ shape: byId.get(op)!.shape, dtype: byId.get(op)!.dtype });
    }
    return add(`i${k}`, { kind: "input", input: k, dtype: src.dtype });
  };
  for (const m of members) {
    let s: EwStep;
    switch (m.op) {
      case "full":
        s = { kind: "literal", value: m.attrs.value, dtype: m.dtype };
        break;
      case "iota":
        s = { kind: "iota", axis: m.attrs.axis };
        break;
      case "random_uniform":
      case "random_normal":
        s = {
          kind: "random",
          dist: m.op === "random_uniform" ? "uniform" : "normal",
          seed: m.attrs.seed,
          offset: m.attrs.offset,
        };
        break;
      default:
        s = { kind: "op", op: m.op as never, args: m.inputs.map(ref), dtype: m.dtype };
    }
    const k = steps.length;
    steps.push(s);
    stepOf.set(`n${m.id}`, k);
  }
  const program: ElementwiseProgram = {
    shape: root.shape,
    operands,
    steps,
    result: stepOf.get(`n${root.id}`)!,
  };
  return { program, operandIds, covers: members.map((m) => m.id) };
}

/**
 * What a matmul reads for operand `id`: through a cast from f16 (the operand stays f16 in storage, the
 * kernel widens it as it loads) or an identity cast, then through a permute that swaps the last two axes
 * (a flipped transpose flag), so a weight kept at f16 and transposed (`x @ W^T`) is read where it lies.
 */
function matmulOperand(
  id: ValueId,
  trans: boolean,
  byId: ReadonlyMap<ValueId, AnyNode>,
): { node: AnyNode; trans: boolean; half: boolean } {
  let node = byId.get(id)!;
  let half = false;
  const from = node.op === "cast" ? byId.get(node.inputs[0]!)!.dtype : undefined;
  // An identity cast too: a `precision = f16` weight on a device without shader-f16, widened back to f32.
  if (node.dtype === "f32" && (from === "f16" || from === "f32")) {
    node = byId.get(node.inputs[0]!)!;
    half = from === "f16";
  }
  if (node.op === "permute" && swapsLastTwo(node.attrs.perm)) {
    node = byId.get(node.inputs[0]!)!;
    trans = !trans;
  }
  return { node, trans, half };
}

function swapsLastTwo(perm: readonly number[]): boolean {
  const r = perm.length;
  return r >= 2 && perm.every((p, i) => p === (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i));
}

/** Values the plan adds that no graph node computes, numbered from the first id past the graph's. */
class Scratch {
  readonly values = new Map<ValueId, { shape: readonly number[]; dtype: DType }>();
  constructor(private next: ValueId) {}
  add(shape: readonly number[], dtype: DType): ValueId {
    const id = this.next++;
    this.values.set(id, { shape, dtype });
    return id;
  }
}

/**
 * A matmul's steps: copies of the operands that rowMajorFirst wants row-major, then the product.
 * The last step's args are the operands only: the caller appends the epilogue's and the result.
 */
function matmulSteps(
  spec: MatmulSpec,
  operands: readonly [AnyNode, AnyNode],
  choice: MatmulChoice,
  target: KernelTarget,
  scratch: Scratch,
  covers: readonly ValueId[],
): PlanStep[] {
  const copy = rowMajorFirst(spec, choice.variant, choice.tiles);
  const steps: PlanStep[] = [];
  // The operand's storage (as the spec views it) with its last two axes swapped.
  const rowMajor = (shape: readonly number[], { id, dtype }: AnyNode): [readonly number[], ValueId] => {
    const swap = <T>(xs: readonly T[]) => [...xs.slice(0, -2), xs.at(-1)!, xs.at(-2)!];
    const t = scratch.add(swap(shape), dtype);
    const kernel = stridedCopyKernel(
      { shape: swap(shape), strides: swap(stridesOf(shape)), base: 0, dtype },
      target,
    );
    steps.push({ kernel, args: [id, t], writes: [t], covers });
    return [swap(shape), t];
  };
  const [x, y] = operands;
  const [aShape, a] = copy.a ? rowMajor(spec.aShape, x) : [spec.aShape, x.id];
  const [bShape, b] = copy.b ? rowMajor(spec.bShape, y) : [spec.bShape, y.id];
  const kernel = matmulKernel(
    { ...spec, aShape, bShape, transA: spec.transA && !copy.a, transB: spec.transB && !copy.b },
    choice.variant,
    choice.tiles,
  );
  steps.push({ kernel, args: [a, b], writes: [], covers });
  return steps;
}

function primitiveSteps(
  n: AnyNode,
  byId: ReadonlyMap<ValueId, AnyNode>,
  matmul: MatmulChoice,
  target: KernelTarget,
  scratch: Scratch,
  epilogue?: MatmulSpec["epilogue"],
): PlanStep[] {
  const x = byId.get(n.inputs[0]!);
  const one = (kernel: Kernel, args: readonly ValueId[]): PlanStep[] => [
    { kernel, args: [...args, n.id], writes: [n.id], covers: [n.id] },
  ];
  switch (n.op) {
    case "sum":
    case "max":
    case "argmax":
      return one(
        reduceKernel({ kind: n.op, shape: x!.shape, dtype: x!.dtype, axes: n.attrs.axes }, target),
        n.inputs,
      );
    case "permute": {
      const xs = stridesOf(x!.shape);
      const strides = n.attrs.perm.map((p) => xs[p]!);
      return one(stridedCopyKernel({ shape: n.shape, strides, base: 0, dtype: n.dtype }, target), n.inputs);
    }
    case "broadcast": {
      const xs = stridesOf(x!.shape);
      const lead = n.shape.length - x!.shape.length;
      const strides = n.shape.map((_, i) => (i < lead || x!.shape[i - lead] === 1 ? 0 : xs[i - lead]!));
      return one(stridedCopyKernel({ shape: n.shape, strides, base: 0, dtype: n.dtype }, target), n.inputs);
    }
    case "slice": {
      const xs = stridesOf(x!.shape);
      const base = n.attrs.starts.reduce((acc, s, i) => acc + s * xs[i]!, 0);
      const strides = xs.map((s, i) => s * n.attrs.steps[i]!);
      return one(stridedCopyKernel({ shape: n.shape, strides, base, dtype: n.dtype }, target), n.inputs);
    }
    case "pad":
      return one(
        padKernel(
          {
            inShape: x!.shape,
            shape: n.shape,
            before: n.attrs.before,
            interior: n.attrs.interior,
            value: n.attrs.value,
            dtype: n.dtype,
          },
          target,
        ),
        n.inputs,
      );
    case "concat": {
      // One launch when the operands and the result fit the 8 storage bindings every device allows.
      const distinct = [...new Set(n.inputs)];
      if (distinct.length < 8) {
        const pieceShapes = n.inputs.map((id) => byId.get(id)!.shape);
        const operands = n.inputs.map((id) => distinct.indexOf(id));
        const spec = { pieceShapes, operands, shape: n.shape, axis: n.attrs.axis, dtype: n.dtype };
        return one(concatKernel(spec, target), distinct);
      }
      let at = 0;
      return n.inputs.map((id) => {
        const piece = byId.get(id)!;
        const kernel = concatPieceKernel(
          { pieceShape: piece.shape, shape: n.shape, axis: n.attrs.axis, at, dtype: n.dtype },
          target,
        );
        at += piece.shape[n.attrs.axis]!;
        return { kernel, args: [id, n.id], writes: [n.id], covers: [n.id] };
      });
    }
    case "gather": {
      const idx = byId.get(n.inputs[1]!)!;
      return one(
        gatherKernel(
          { xShape: x!.shape, idxCount: count(idx.shape), axis: n.attrs.axis, dtype: n.dtype },
          target,
        ),
        n.inputs,
      );
    }
    case "take_along_axis": {
      const idx = byId.get(n.inputs[1]!)!;
      return one(
        takeAlongAxisKernel(
          { xShape: x!.shape, idxShape: idx.shape, axis: n.attrs.axis, dtype: n.dtype },
          target,
        ),
        n.inputs,
      );
    }
    case "scatter_add": {
      const idx = byId.get(n.inputs[1]!)!;
      const spec = { shape: n.shape, idxShape: idx.shape, axis: n.attrs.axis, dtype: n.dtype };
      if (n.shape[n.attrs.axis]! > idx.shape[n.attrs.axis]!) {
        // A large table, fewer updates: copy the base, then each index's first update adds them all in.
        return [
          {
            kernel: stridedCopyKernel(
              { shape: n.shape, strides: stridesOf(n.shape), base: 0, dtype: n.dtype },
              target,
            ),
            args: [n.inputs[0]!, n.id],
            writes: [n.id],
            covers: [n.id],
          },
          {
            kernel: scatterAddSparseKernel(spec, target),
            args: [n.inputs[1]!, n.inputs[2]!, n.id],
            writes: [n.id],
            covers: [n.id],
          },
        ];
      }
      return one(
        scatterAddKernel({ shape: n.shape, idxShape: idx.shape, axis: n.attrs.axis, dtype: n.dtype }, target),
        n.inputs,
      );
    }
    case "matmul": {
      const a = matmulOperand(n.inputs[0]!, n.attrs.transA, byId);
      const b = matmulOperand(n.inputs[1]!, n.attrs.transB, byId);
      const spec = {
        aShape: a.node.shape,
        bShape: b.node.shape,
        transA: a.trans,
        transB: b.trans,
        shape: n.shape,
        ...(epilogue ? { epilogue } : {}),
        ...(a.half || b.half ? { half: { a: a.half, b: b.half } } : {}),
      };
      const steps = matmulSteps(spec, [a.node, b.node], matmul, target, scratch, [n.id]);
      const last = steps.pop()!;
      return [...steps, { ...last, args: [...last.args, n.id], writes: [n.id] }];
    }
    default:
      throw new Error(`no kernel for ${n.op} (%${n.id})`);
  }
}
