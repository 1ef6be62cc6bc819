// Training steps on the device with parameters and optimizer state resident: the parameters, the
// optimizer's state and its per-step hyperparameters live in one buffer that stays on the device
// across steps; frozen parameters (given once, never trained) in another, uploaded at creation;
// activations and gradients share the liveness-planned arena. A step uploads only the other feeds
// (inputs), records the forward, backward and one in-place optimizer kernel per parameter into one
// command buffer (the next step's recorded while the device runs this one), and reads back only the loss.

/// <reference types="@webgpu/types" />
import type { Graph, ValueId } from "../../compiler/graph/graph.ts";
import type { DType } from "../../compiler/graph/ops.ts";
import { type Device, DeviceError } from "../device/device.ts";
import { type CompiledKernel, PipelineCache } from "../device/pipelines.ts";
import {
  HYPER_LENGTH,
  hyperValues,
  type OptimizerSpec,
  optimizerKernel,
  stateCount,
} from "../kernels/optimizer.ts";
import type { Feed, Tensor } from "../reference/tensor.ts";
import { type BufferRange, createArena } from "./arena.ts";
import { toDevice } from "./device-values.ts";
import { DeviceWait } from "./device-wait.ts";
import { type ExecutorOptions, kernelTarget } from "./executor.ts";
import { lowerGraph } from "./lower.ts";
import { lifetimes, planMemory } from "./memory-plan.ts";

export interface Trainer {
  /** Uploads parameter values (every trained parameter) and zeroes the optimizer's state and step count. */
  setParams(values: ReadonlyMap<ValueId, Tensor>): void;
  /**
   * One step: forward, backward and update; resolves to the loss (before the update). `lr`: one
   * learning rate for every group, or one per group (in `groups` order, then the default group).
   * `whileRunning`: host work done once the step is submitted, while the device runs it.
   */
  step(
    feeds: ReadonlyMap<ValueId, Feed>,
    lr?: number | readonly number[],
    whileRunning?: () => void,
  ): Promise<number>;
  /** Reads the parameters back (tests, checkpoints). */
  readParams(): Promise<Map<ValueId, Tensor>>;
  /** Reads the parameters, the optimizer's state and its step count back, by parameter name. */
  readState(): Promise<TrainerState>;
  /** Uploads parameters (every trained one), optimizer state (zero where absent) and the step count. */
  writeState(state: TrainerStateInput): void;
  /** Kernels per step: the plan's and the optimizer's. */
  readonly dispatches: number;
  release(): void;
}

export interface TrainerState {
  /** Optimizer steps taken (the `t` of the next step is steps + 1). */
  readonly steps: number;
  /** Parameter values by parameter name. */
  readonly params: Map<string, Float64Array>;
  /** Each parameter's state tensors in the kernel's order (sgd: momentum; adamw: m, v; adadelta: v, u). */
  readonly state: Map<string, Float64Array[]>;
}

export interface TrainerStateInput {
  readonly steps: number;
  readonly params: ReadonlyMap<string, ArrayLike<number>>;
  readonly state?: ReadonlyMap<string, readonly (ArrayLike<number> | undefined)[]>;
}

/** A parameter group: its own optimizer spec (weight decay baked in) and learning-rate slot. */
export interface TrainerGroup {
  readonly spec: OptimizerSpec;
  /** Parameter names (the `param` nodes' names). */
  readonly params: readonly string[];
}

export interface TrainerOptions extends ExecutorOptions {
  /** The optimizer of the parameters no group names (the default group). */
  readonly optimizer: OptimizerSpec;
  readonly groups?: readonly TrainerGroup[];
  /**
   * A trainer whose resident parameters, optimizer state, groups and step count this one shares (the
   * same parameters, by name, in another graph: a batch of another size).
   */
  readonly share?: Trainer;
  /** Compiled pipelines to reuse (an executor's), so that a trainer per batch size compiles each kernel once. */
  readonly pipelines?: PipelineCache;
  /**
   * Values of params without a gradient that never change (frozen backbone weights): uploaded once at
   * creation (by name: a sharing trainer reuses those already on the device) and kept there outside the
   * arena, so that `step` needs no feed for them. f32 values (checkpoint weights) are uploaded as they are.
   */
  readonly frozen?: ReadonlyMap<ValueId, Feed>;
}

interface ResidentParam {
  readonly offset: number;
  readonly bytes: number;
  readonly count: number;
  readonly states: readonly number[];
  readonly slot: number;
}

/** Parameters, optimizer state and per-group hyperparameters on the device, shared between trainers. */
interface Resident {
  readonly buffer: GPUBuffer;
  readonly readback: GPUBuffer;
  readonly size: number;
  readonly params: ReadonlyMap<string, ResidentParam>;
  /** Per group slot: its spec and the offset of its hyperparameters. */
  readonly slots: readonly { readonly spec: OptimizerSpec; readonly hyperAt: number }[];
  /** Frozen params by name, each in one of `frozenBuffers` (one per trainer that brought new ones). */
  readonly frozen: Map<string, BufferRange>;
  readonly frozenBuffers: GPUBuffer[];
  t: number;
  users: number;
}

const residents = new WeakMap<Trainer, Resident>();

/** A frozen param's values and its storage on the device (f16 where `precision = f16` keeps it so). */
interface FrozenValue {
  readonly bytes: number;
  readonly dtype: DType;
  readonly data: ArrayLike<number>;
}

const count = (shape: readonly number[]) => shape.reduce((a, d) => a * d, 1);

function paramName(graph: Graph, id: ValueId): string {
  const n = graph.nodes.find((m) => m.id === id);
  if (!n) throw new Error(`no node %${id}`);
  return n.op === "param" ? n.attrs.name : `%${id}`;
}

async function createResident(
  device: Device,
  params: ReadonlyMap<string, readonly number[]>,
  opts: TrainerOptions,
  alignment: number,
): Promise<Resident> {
  const gpu = device.device;
  const align = (x: number) => Math.ceil(x / alignment) * alignment;
  const specs: OptimizerSpec[] = [];
  const slotOf = new Map<string, number>();
  for (const g of opts.groups ?? []) {
    for (const name of g.params) if (params.has(name) && !slotOf.has(name)) slotOf.set(name, specs.length);
    specs.push(g.spec);
  }
  if ([...params.keys()].some((name) => !slotOf.has(name))) {
    for (const name of params.keys()) if (!slotOf.has(name)) slotOf.set(name, specs.length);
    specs.push(opts.optimizer);
  }
  // Params, then each param's state tensors, then the hyperparameters of each group.
  let size = 0;
  const at = new Map<string, { offset: number; bytes: number; count: number }>();
  for (const [name, shape] of params) {
    const bytes = Math.max(16, count(shape) * 4);
    at.set(name, { offset: size, bytes, count: count(shape) });
    size = align(size + bytes);
  }
  const resident = new Map<string, ResidentParam>();
  for (const [name, a] of at) {
    const slot = slotOf.get(name)!;
    const states: number[] = [];
    for (let k = 0; k < stateCount(specs[slot]!); k++) {
      states.push(size);
      size = align(size + a.bytes);
    }
    resident.set(name, { ...a, states, slot });
  }
  const slots = specs.map((spec) => {
    const hyperAt = size;
    size = align(size + HYPER_LENGTH * 4);
    return { spec, hyperAt };
  });
  gpu.pushErrorScope("out-of-memory");
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const buffer = gpu.createBuffer({ label: "vlmp params and optimizer state", size, usage });
  const readback = gpu.createBuffer({
    label: "vlmp params readback",
    size,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const oom = await gpu.popErrorScope();
  if (oom) throw new DeviceError(`out of device memory for the parameters: ${oom.message}`);
  return {
    buffer,
    readback,
    size,
    params: resident,
    slots,
    frozen: new Map(),
    frozenBuffers: [],
    t: 0,
    users: 0,
  };
}

/** Places the frozen params `res` does not hold yet in one new buffer and uploads them. */
async function addFrozen(
  device: Device,
  res: Resident,
  values: ReadonlyMap<string, FrozenValue>,
  alignment: number,
): Promise<void> {
  const gpu = device.device;
  const fresh = [...values].filter(([name]) => !res.frozen.has(name));
  if (fresh.length === 0) return;
  const offsets: number[] = [];
  let size = 0;
  for (const [, v] of fresh) {
    offsets.push(size);
    size = Math.ceil((size + v.bytes) / alignment) * alignment;
  }
  gpu.pushErrorScope("out-of-memory");
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  const buffer = gpu.createBuffer({ label: "vlmp frozen params", size, usage });
  const oom = await gpu.popErrorScope();
  if (oom) throw new DeviceError(`out of device memory for the frozen parameters: ${oom.message}`);
  res.frozenBuffers.push(buffer);
  fresh.forEach(([name, v], k) => {
    const placed = { buffer, offset: offsets[k]!, size: v.bytes };
    gpu.queue.writeBuffer(buffer, placed.offset, toDevice(v.data, v.dtype, v.bytes));
    res.frozen.set(name, placed);
  });
}

/**
 * A trainer of `graph` (with its gradient nodes): `loss` the scalar, `grads` param -> its gradient.
 * Params not in `grads` are fed each step like inputs.
 */
export async function createTrainer(
  device: Device,
  graph: Graph,
  loss: ValueId,
  grads: ReadonlyMap<ValueId, ValueId>,
  opts: TrainerOptions,
): Promise<Trainer> {
  const gpu = device.device;
  const plan = lowerGraph(graph, [loss, ...grads.values()], {
    matmul: opts.matmul ?? "register",
    fuse: opts.fuse ?? true,
    maxBindings: device.limits.maxStorageBuffersPerShaderStage,
    target: kernelTarget(device),
  });
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const alignment = Math.max(256, device.limits.minStorageBufferOffsetAlignment);
  const rootOf = (id: ValueId) => plan.aliases.get(id) ?? id;
  const names = new Map([...grads.keys()].map((p) => [p, paramName(graph, p)] as const));
  const shapes = new Map([...grads.keys()].map((p) => [names.get(p)!, byId.get(p)!.shape] as const));

  let res: Resident;
  if (opts.share) {
    const shared = residents.get(opts.share);
    if (!shared) throw new Error("the trainer to share with has been released");
    for (const [name, shape] of shapes) {
      const r = shared.params.get(name);
      if (!r || r.count !== count(shape))
        throw new Error(`param '${name}' [${shape.join(", ")}] is not resident in the shared trainer`);
    }
    res = shared;
  } else res = await createResident(device, shapes, opts, alignment);
  const resident = new Map<ValueId, ResidentParam>(
    [...grads.keys()].map((p) => [p, res.params.get(names.get(p)!)!]),
  );
  const frozenByName = new Map<string, FrozenValue & { readonly id: ValueId }>();
  for (const [id, t] of opts.frozen ?? []) {
    const n = byId.get(id);
    if (n?.op !== "param" || grads.has(id)) throw new Error(`%${id} is not a param without a gradient`);
    if (t.data.length !== count(n.shape))
      throw new Error(`frozen param '${n.attrs.name}' holds ${count(n.shape)} values, not ${t.data.length}`);
    const value = plan.values.get(id);
    if (value) frozenByName.set(n.attrs.name, { id, bytes: value.bytes, dtype: value.dtype, data: t.data });
  }
  for (const [name, v] of frozenByName) {
    const held = res.frozen.get(name);
    if (held && held.size !== v.bytes)
      throw new Error(`frozen param '${name}' has another size in the shared trainer`);
  }
  await addFrozen(device, res, frozenByName, alignment);
  const frozen = new Map([...frozenByName].map(([name, v]) => [v.id, res.frozen.get(name)!] as const));

  const memory = planMemory(
    lifetimes(plan).filter((l) => !resident.has(l.id) && !frozen.has(l.id)),
    alignment,
    opts.arenaPageBytes ?? gpu.limits.maxBufferSize,
  );
  gpu.pushErrorScope("out-of-memory");
  const arena = createArena(gpu, memory, "vlmp arena (training)");
  const readback = gpu.createBuffer({
    label: "vlmp loss readback",
    size: 16,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const oom = await gpu.popErrorScope();
  if (oom) throw new DeviceError(`out of device memory for training buffers: ${oom.message}`);
  const where = (id: ValueId): BufferRange => {
    const r = rootOf(id);
    const p = resident.get(r);
    if (p) return { buffer: res.buffer, offset: p.offset, size: p.bytes };
    return frozen.get(r) ?? arena.place(r, plan.values.get(r)!.bytes);
  };

  const cache = opts.pipelines ?? new PipelineCache(device);
  const updates = [...grads].map(([p, g]) => {
    const r = resident.get(p)!;
    const slot = res.slots[r.slot]!;
    const kernel = optimizerKernel(slot.spec, r.count, kernelTarget(device));
    const ranges = [
      where(p),
      where(g),
      ...r.states.map((offset) => ({ buffer: res.buffer, offset, size: r.bytes })),
      { buffer: res.buffer, offset: slot.hyperAt, size: HYPER_LENGTH * 4 },
    ];
    return { kernel, ranges };
  });
  const steps = [...plan.steps.map((s) => ({ kernel: s.kernel, ranges: s.args.map(where) })), ...updates];
  const compiled: CompiledKernel[] = await Promise.all(steps.map((s) => cache.get(s.kernel)));
  const bindGroups = steps.map((s, i) =>
    gpu.createBindGroup({
      label: s.kernel.name,
      layout: compiled[i]!.layout,
      entries: s.ranges.map((r, k) => ({ binding: k, resource: r })),
    }),
  );
  for (const [id, data] of plan.constants) {
    const r = where(id);
    gpu.queue.writeBuffer(r.buffer, r.offset, toDevice(data, plan.values.get(id)!.dtype, r.size));
  }

  const wait = new DeviceWait();
  let released = false;
  const lossAt = where(loss);
  res.users++;
  // The whole step in one command buffer: the same dispatches and bindings every step (the feeds, the
  // hyperparameters and the resident state change in place), so the next step's is recorded while the
  // device runs this one.
  const record = (): GPUCommandBuffer => {
    const encoder = gpu.createCommandEncoder();
    const pass = encoder.beginComputePass();
    steps.forEach((s, i) => {
      pass.setPipeline(compiled[i]!.pipeline);
      pass.setBindGroup(0, bindGroups[i]!);
      pass.dispatchWorkgroups(...s.kernel.dispatch);
    });
    pass.end();
    encoder.copyBufferToBuffer(lossAt.buffer, lossAt.offset, readback, 0, 16);
    return encoder.finish();
  };
  let recorded: GPUCommandBuffer | undefined;

  const writeState = (s: TrainerStateInput): void => {
    for (const [name, r] of res.params) {
      const v = s.params.get(name);
      if (!v) throw new Error(`no value for param '${name}'`);
      if (v.length !== r.count) throw new Error(`param '${name}' holds ${r.count} values, not ${v.length}`);
      gpu.queue.writeBuffer(res.buffer, r.offset, toDevice(v, "f32", r.bytes));
      const st = s.state?.get(name);
      r.states.forEach((offset, k) => {
        const x = st?.[k];
        if (x && x.length !== r.count) throw new Error(`state ${k} of '${name}' has ${x.length} values`);
        gpu.queue.writeBuffer(res.buffer, offset, x ? toDevice(x, "f32", r.bytes) : new ArrayBuffer(r.bytes));
      });
    }
    res.t = s.steps;
  };

  const trainer: Trainer = {
    dispatches: steps.length,
    setParams(values) {
      const byName = new Map<string, ArrayLike<number>>();
      for (const [p, name] of names) {
        const v = values.get(p);
        if (!v) throw new Error(`no initial value for param %${p}`);
        byName.set(name, v.data);
      }
      writeState({ steps: 0, params: byName });
    },
    writeState,
    async step(feeds, lr, whileRunning) {
      device.check();
      const t = ++res.t;
      res.slots.forEach((slot, k) => {
        const rate = typeof lr === "number" ? lr : lr?.[k];
        gpu.queue.writeBuffer(res.buffer, slot.hyperAt, hyperValues(slot.spec, t, rate));
      });
      for (const id of plan.feeds) {
        if (resident.has(id) || frozen.has(id)) continue;
        const t = feeds.get(id);
        const n = byId.get(id)!;
        if (!t) throw new Error(`${n.op} '${"name" in n.attrs ? n.attrs.name : id}' (%${id}) has no feed`);
        const r = where(id);
        gpu.queue.writeBuffer(r.buffer, r.offset, toDevice(t.data, plan.values.get(id)!.dtype, r.size));
      }
      const commands = recorded ?? record();
      const t0 = performance.now();
      gpu.queue.submit([commands]);
      recorded = record();
      whileRunning?.();
      await wait.until(t0, () =>
        Promise.race([
          readback.mapAsync(GPUMapMode.READ, 0, 16),
          gpu.lost.then((l) => {
            throw new DeviceError(`WebGPU device lost during a training step (${l.reason}: ${l.message})`);
          }),
        ]),
      );
      const value = new Float32Array(readback.getMappedRange(0, 16).slice(0))[0]!;
      readback.unmap();
      return value;
    },
    async readState() {
      const encoder = gpu.createCommandEncoder();
      encoder.copyBufferToBuffer(res.buffer, 0, res.readback, 0, res.size);
      gpu.queue.submit([encoder.finish()]);
      await res.readback.mapAsync(GPUMapMode.READ);
      const bytes = res.readback.getMappedRange().slice(0);
      res.readback.unmap();
      const read = (offset: number, n: number) => Float64Array.from(new Float32Array(bytes, offset, n));
      const params = new Map<string, Float64Array>();
      const state = new Map<string, Float64Array[]>();
      for (const [name, r] of res.params) {
        params.set(name, read(r.offset, r.count));
        state.set(
          name,
          r.states.map((offset) => read(offset, r.count)),
        );
      }
      return { steps: res.t, params, state };
    },
    async readParams() {
      const s = await trainer.readState();
      const out = new Map<ValueId, Tensor>();
      for (const [p, name] of names) out.set(p, { shape: byId.get(p)!.shape, data: s.params.get(name)! });
      return out;
    },
    release() {
      if (released) return;
      released = true;
      arena.destroy();
      readback.destroy();
      if (--res.users === 0) {
        res.buffer.destroy();
        res.readback.destroy();
        for (const b of res.frozenBuffers) b.destroy();
      }
    },
  };
  residents.set(trainer, res);
  return trainer;
}
