// Training steps on the device with parameters and optimizer state resident: the parameters, the
// optimizer's state and its per-step hyperparameters live in one buffer that stays on the device
// across steps; activations and gradients share the liveness-planned arena. A step uploads only the
// feeds (inputs), records the forward, backward and one in-place optimizer kernel per parameter
// into one command buffer, and reads back only the loss.

/// <reference types="@webgpu/types" />
import type { Graph, ValueId } from "../../compiler/graph/graph.ts";
import { type Device, DeviceError, sleep } from "../device/device.ts";
import { type CompiledKernel, PipelineCache } from "../device/pipelines.ts";
import {
  HYPER_LENGTH,
  hyperValues,
  type OptimizerSpec,
  optimizerKernel,
  stateCount,
} from "../kernels/optimizer.ts";
import type { Tensor } from "../reference/tensor.ts";
import type { ExecutorOptions } from "./executor.ts";
import { lowerGraph } from "./lower.ts";
import { lifetimes, planMemory } from "./memory-plan.ts";

export interface Trainer {
  /** Uploads parameter values (every trained parameter) and zeroes the optimizer's state and step count. */
  setParams(values: ReadonlyMap<ValueId, Tensor>): void;
  /** One step: forward, backward and update; resolves to the loss (before the update). */
  step(feeds: ReadonlyMap<ValueId, Tensor>, lr?: number): Promise<number>;
  /** Reads the parameters back (tests, checkpoints). */
  readParams(): Promise<Map<ValueId, Tensor>>;
  /** Kernels per step: the plan's and the optimizer's. */
  readonly dispatches: number;
  release(): void;
}

export interface TrainerOptions extends ExecutorOptions {
  readonly optimizer: OptimizerSpec;
}

function f32Bytes(data: ArrayLike<number>, bytes: number): ArrayBuffer {
  const buf = new ArrayBuffer(bytes);
  new Float32Array(buf).set(data);
  return buf;
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
  const spec = opts.optimizer;
  const plan = lowerGraph(graph, [loss, ...grads.values()], {
    matmul: opts.matmul ?? "register",
    fuse: opts.fuse ?? true,
    maxBindings: device.limits.maxStorageBuffersPerShaderStage,
    target: { maxWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension },
  });
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const alignment = Math.max(256, device.limits.minStorageBufferOffsetAlignment);
  const align = (x: number) => Math.ceil(x / alignment) * alignment;
  const rootOf = (id: ValueId) => plan.aliases.get(id) ?? id;

  // The resident buffer: params, then each param's state tensors, then the hyperparameters.
  const resident = new Map<ValueId, number>();
  const states = new Map<ValueId, number[]>();
  const sizes = new Map<ValueId, number>();
  let size = 0;
  for (const p of grads.keys()) {
    const n = byId.get(p)!;
    const bytes = Math.max(16, n.shape.reduce((a, d) => a * d, 1) * 4);
    sizes.set(p, bytes);
    resident.set(p, size);
    size = align(size + bytes);
  }
  for (const p of grads.keys()) {
    const at: number[] = [];
    for (let k = 0; k < stateCount(spec); k++) {
      at.push(size);
      size = align(size + sizes.get(p)!);
    }
    states.set(p, at);
  }
  const hyperAt = size;
  size = align(size + HYPER_LENGTH * 4);

  const memory = planMemory(
    lifetimes(plan).filter((l) => !resident.has(l.id)),
    alignment,
  );
  gpu.pushErrorScope("out-of-memory");
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const arena = gpu.createBuffer({ label: "vlmp arena (training)", size: memory.size, usage });
  const params = gpu.createBuffer({ label: "vlmp params and optimizer state", size, usage });
  const readback = gpu.createBuffer({
    label: "vlmp loss readback",
    size: Math.max(16, size),
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const oom = await gpu.popErrorScope();
  if (oom) throw new DeviceError(`out of device memory for training buffers: ${oom.message}`);
  const where = (id: ValueId): { buffer: GPUBuffer; offset: number; size: number } => {
    const r = rootOf(id);
    if (resident.has(r)) return { buffer: params, offset: resident.get(r)!, size: sizes.get(r)! };
    return { buffer: arena, offset: memory.offsets.get(r)!, size: plan.values.get(r)!.bytes };
  };

  const cache = new PipelineCache(device);
  const updates = [...grads].map(([p, g]) => {
    const n = byId.get(p)!.shape.reduce((a, d) => a * d, 1);
    const kernel = optimizerKernel(spec, n, {
      maxWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
    });
    const ranges = [
      where(p),
      where(g),
      ...states.get(p)!.map((offset) => ({ buffer: params, offset, size: sizes.get(p)! })),
      { buffer: params, offset: hyperAt, size: HYPER_LENGTH * 4 },
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
    gpu.queue.writeBuffer(r.buffer, r.offset, f32Bytes(data, r.size));
  }

  let t = 0;
  let expectedMs = 0;
  let runs = 0;
  const lossAt = where(loss);

  return {
    dispatches: steps.length,
    setParams(values) {
      for (const p of grads.keys()) {
        const v = values.get(p);
        if (!v) throw new Error(`no initial value for param %${p}`);
        gpu.queue.writeBuffer(params, resident.get(p)!, f32Bytes(v.data, sizes.get(p)!));
        for (const offset of states.get(p)!)
          gpu.queue.writeBuffer(params, offset, new ArrayBuffer(sizes.get(p)!));
      }
      t = 0;
    },
    async step(feeds, lr) {
      device.check();
      t++;
      gpu.queue.writeBuffer(params, hyperAt, hyperValues(spec, t, lr));
      for (const id of plan.feeds) {
        if (resident.has(id)) continue;
        const t = feeds.get(id);
        const n = byId.get(id)!;
        if (!t) throw new Error(`${n.op} '${"name" in n.attrs ? n.attrs.name : id}' (%${id}) has no feed`);
        const r = where(id);
        const buf = new ArrayBuffer(r.size);
        if (n.dtype === "f32" || n.dtype === "f16") new Float32Array(buf).set(t.data);
        else new Int32Array(buf).set(Array.from(t.data, (x) => x | 0));
        gpu.queue.writeBuffer(r.buffer, r.offset, buf);
      }
      const encoder = gpu.createCommandEncoder();
      const pass = encoder.beginComputePass();
      steps.forEach((s, i) => {
        pass.setPipeline(compiled[i]!.pipeline);
        pass.setBindGroup(0, bindGroups[i]!);
        pass.dispatchWorkgroups(...s.kernel.dispatch);
      });
      pass.end();
      encoder.copyBufferToBuffer(lossAt.buffer, lossAt.offset, readback, 0, 16);
      const t0 = performance.now();
      gpu.queue.submit([encoder.finish()]);
      const slept = expectedMs >= 2 ? expectedMs * 0.85 : 0;
      if (slept > 0) await sleep(slept);
      await readback.mapAsync(GPUMapMode.READ, 0, 16);
      const ms = performance.now() - t0;
      if (runs++ > 0) expectedMs = expectedMs === 0 ? ms : 0.7 * expectedMs + 0.3 * ms;
      const value = new Float32Array(readback.getMappedRange(0, 16).slice(0))[0]!;
      readback.unmap();
      return value;
    },
    async readParams() {
      const encoder = gpu.createCommandEncoder();
      for (const p of grads.keys())
        encoder.copyBufferToBuffer(params, resident.get(p)!, readback, resident.get(p)!, sizes.get(p)!);
      gpu.queue.submit([encoder.finish()]);
      await readback.mapAsync(GPUMapMode.READ);
      const bytes = readback.getMappedRange().slice(0);
      readback.unmap();
      const out = new Map<ValueId, Tensor>();
      for (const p of grads.keys()) {
        const n = byId.get(p)!;
        const count = n.shape.reduce((a, d) => a * d, 1);
        out.set(p, {
          shape: n.shape,
          data: Float64Array.from(new Float32Array(bytes, resident.get(p)!, count)),
        });
      }
      return out;
    },
    release() {
      arena.destroy();
      params.destroy();
      readback.destroy();
    },
  };
}
