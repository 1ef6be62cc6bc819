// Runs tensor graphs on a WebGPU device: lowers (lower.ts), plans memory (memory-plan.ts; an arena
// larger than one device buffer is cut into pages, arena.ts), compiles pipelines (cached by source),
// then per run uploads the feeds, records every dispatch into one command buffer, and reads back only
// the requested outputs. The interface mirrors the reference interpreter's, so tests run both on the
// same graph.
//
// Weights stay resident across runs: a param's bytes are kept for the plan's whole life (no other value
// is placed over them and no kernel writes them), and each prepared plan remembers, per param, the feed
// object it last uploaded there (a WeakRef, so the plan keeps no weights alive). A feed marked immutable
// (markImmutable: checkpoint weights) that is the same object as last run's is not converted or written
// again; a new object (trained parameters handed over as new tensors) or an unmarked one (written in place
// by its owner) is uploaded every time.

/// <reference types="@webgpu/types" />
import type { Graph, ValueId } from "../../compiler/graph/graph.ts";
import { type Device, DeviceError } from "../device/device.ts";
import { type CompiledKernel, PipelineCache } from "../device/pipelines.ts";
import type { KernelTarget } from "../kernels/kernel.ts";
import type { MatmulTiles, MatmulVariant } from "../kernels/matmul.ts";
import { type Feed, isImmutable, type Tensor } from "../reference/tensor.ts";
import { type Arena, createArena } from "./arena.ts";
import { fromDevice, toDevice } from "./device-values.ts";
import { DeviceWait } from "./device-wait.ts";
import { type KernelPlan, type LowerOptions, lowerGraph } from "./lower.ts";
import { lifetimes, type MemoryPlan, planMemory } from "./memory-plan.ts";

export interface ExecutorOptions {
  readonly matmul?: MatmulVariant;
  /** The register matmul's tile per shape class (autotune.ts); default DEFAULT_MATMUL_TILES. */
  readonly matmulTiles?: MatmulTiles;
  readonly fuse?: boolean;
  /** The most bytes one arena buffer holds (default: the device's maxBufferSize); tests page small arenas. */
  readonly arenaPageBytes?: number;
}

export interface Prepared {
  readonly plan: KernelPlan;
  readonly memory: MemoryPlan;
  readonly arena: Arena;
  readonly readback: GPUBuffer;
  readonly readOffsets: ReadonlyMap<ValueId, number>;
  readonly pipelines: readonly CompiledKernel[];
  readonly bindGroups: readonly GPUBindGroup[];
  /** The run's expected device time, slept through before awaiting completion. */
  readonly wait: DeviceWait;
  /** Params whose bytes outlive every run (no kernel writes them): their uploads may be kept. */
  readonly keepable: ReadonlySet<ValueId>;
  /** Per keepable param, the immutable feed whose values its bytes hold now. */
  readonly resident: Map<ValueId, WeakRef<Feed>>;
}

/** Feed uploads since the executor was made: what runs wrote, and what they found resident. */
export interface UploadCounts {
  /** Feeds written to the device. */
  written: number;
  /** Bytes written for them. */
  bytes: number;
  /** Feeds not written: the same immutable object was already resident. */
  kept: number;
}

export interface Executor {
  readonly device: Device;
  readonly pipelines: PipelineCache;
  readonly uploads: Readonly<UploadCounts>;
  /** Evaluates `outputs` (default: the graph's outputs) given a tensor for every input and param. */
  evaluate(
    graph: Graph,
    feeds: ReadonlyMap<ValueId, Feed>,
    outputs?: readonly ValueId[],
  ): Promise<Map<ValueId, Tensor>>;
  /** Lowers, plans and compiles once; later evaluations of the same graph and outputs reuse it. */
  prepare(graph: Graph, outputs?: readonly ValueId[]): Promise<Prepared>;
  /** Encodes the plan's dispatches `times` times into one command buffer and submits it (benchmarks). */
  dispatchOnly(prepared: Prepared, times: number): void;
  /** Frees every buffer this executor made (the device stays). */
  release(): void;
}

export async function createExecutor(device: Device, opts: ExecutorOptions = {}): Promise<Executor> {
  const gpu = device.device;
  const pipelines = new PipelineCache(device);
  const cache = new WeakMap<Graph, Map<string, Promise<Prepared>>>();
  const buffers: GPUBuffer[] = [];
  const arenas: Arena[] = [];
  let queue: Promise<unknown> = Promise.resolve();
  const uploads: UploadCounts = { written: 0, bytes: 0, kept: 0 };
  const lowerOptions: LowerOptions = {
    matmul: opts.matmul ?? "register",
    ...(opts.matmulTiles ? { matmulTiles: opts.matmulTiles } : {}),
    fuse: opts.fuse ?? true,
    maxBindings: device.limits.maxStorageBuffersPerShaderStage,
    target: kernelTarget(device),
  };

  async function build(graph: Graph, outputs: readonly ValueId[]): Promise<Prepared> {
    const plan = lowerGraph(graph, outputs, lowerOptions);
    const alignment = Math.max(256, device.limits.minStorageBufferOffsetAlignment);
    for (const v of plan.values.values()) {
      if (v.bytes > device.limits.maxStorageBufferBindingSize) {
        throw new DeviceError(
          `value %${v.id} [${v.shape.join(", ")}] needs ${v.bytes} bytes; one binding may hold ${device.limits.maxStorageBufferBindingSize}`,
        );
      }
    }
    const keepable = keepableParams(graph, plan);
    const last = plan.steps.length;
    const memory = planMemory(
      lifetimes(plan).map((l) => (keepable.has(l.id) ? { ...l, end: last } : l)),
      alignment,
      opts.arenaPageBytes ?? device.limits.maxBufferSize,
    );
    gpu.pushErrorScope("out-of-memory");
    const arena = createArena(gpu, memory, "vlmp arena");
    const readOffsets = new Map<ValueId, number>();
    let readSize = 0;
    for (const o of outputs) {
      const root = plan.aliases.get(o) ?? o;
      if (readOffsets.has(root)) continue;
      readOffsets.set(root, readSize);
      readSize += plan.values.get(root)!.bytes;
    }
    const readback = gpu.createBuffer({
      label: "vlmp readback",
      size: Math.max(16, readSize),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const oom = await gpu.popErrorScope();
    if (oom)
      throw new DeviceError(`out of device memory allocating a ${memory.size}-byte arena: ${oom.message}`);
    arenas.push(arena);
    buffers.push(readback);
    const compiled = await Promise.all(plan.steps.map((s) => pipelines.get(s.kernel)));
    const bindGroups = plan.steps.map((s, i) =>
      gpu.createBindGroup({
        label: s.kernel.name,
        layout: compiled[i]!.layout,
        entries: s.args.map((id, k) => ({
          binding: k,
          resource: arena.place(id, plan.values.get(id)!.bytes),
        })),
      }),
    );
    for (const [id, data] of plan.constants) {
      const v = plan.values.get(id)!;
      const at = arena.place(id, v.bytes);
      gpu.queue.writeBuffer(at.buffer, at.offset, toDevice(data, v.dtype, v.bytes));
    }
    return {
      plan,
      memory,
      arena,
      readback,
      readOffsets,
      pipelines: compiled,
      bindGroups,
      wait: new DeviceWait(),
      keepable,
      resident: new Map(),
    };
  }

  function prepare(graph: Graph, outputs?: readonly ValueId[]): Promise<Prepared> {
    const outs = outputs ?? graph.outputs.map((o) => o.value);
    const key = outs.join(",");
    let byOutputs = cache.get(graph);
    if (!byOutputs) cache.set(graph, (byOutputs = new Map()));
    let p = byOutputs.get(key);
    if (!p) {
      p = build(graph, outs);
      byOutputs.set(key, p);
      p.catch(() => byOutputs.delete(key));
    }
    return p;
  }

  function encode(encoder: GPUCommandEncoder, prepared: Prepared): void {
    const pass = encoder.beginComputePass();
    prepared.plan.steps.forEach((s, i) => {
      pass.setPipeline(prepared.pipelines[i]!.pipeline);
      pass.setBindGroup(0, prepared.bindGroups[i]!);
      const [x, y, z] = s.kernel.dispatch;
      pass.dispatchWorkgroups(x, y, z);
    });
    pass.end();
  }

  async function run(
    graph: Graph,
    feeds: ReadonlyMap<ValueId, Feed>,
    outputs?: readonly ValueId[],
  ): Promise<Map<ValueId, Tensor>> {
    device.check();
    const prepared = await prepare(graph, outputs);
    const { plan, arena, readback, readOffsets } = prepared;
    const byId = new Map(graph.nodes.map((n) => [n.id, n]));
    for (const id of plan.feeds) {
      const node = byId.get(id)!;
      const t = feeds.get(id);
      const name = "name" in node.attrs ? node.attrs.name : `%${id}`;
      if (!t) throw new Error(`${node.op} '${name}' (%${id}) has no feed`);
      if (t.shape.length !== node.shape.length || t.shape.some((d, i) => d !== node.shape[i])) {
        throw new Error(
          `feed for '${name}' has shape [${t.shape.join(", ")}], expected [${node.shape.join(", ")}]`,
        );
      }
      const v = plan.values.get(id)!;
      const keep = prepared.keepable.has(id) && isImmutable(t);
      if (keep && prepared.resident.get(id)?.deref() === t) {
        uploads.kept++;
        continue;
      }
      const at = arena.place(id, v.bytes);
      gpu.queue.writeBuffer(at.buffer, at.offset, toDevice(t.data, v.dtype, v.bytes));
      uploads.written++;
      uploads.bytes += v.bytes;
      if (keep) prepared.resident.set(id, new WeakRef(t));
      else prepared.resident.delete(id);
    }
    const encoder = gpu.createCommandEncoder();
    encode(encoder, prepared);
    for (const [id, at] of readOffsets) {
      const from = arena.place(id, plan.values.get(id)!.bytes);
      encoder.copyBufferToBuffer(from.buffer, from.offset, readback, at, from.size);
    }
    const t0 = performance.now();
    gpu.queue.submit([encoder.finish()]);
    await prepared.wait.until(t0, () => {
      device.check();
      return Promise.race([
        readback.mapAsync(GPUMapMode.READ),
        gpu.lost.then((l) => {
          throw new DeviceError(`WebGPU device lost during a run (${l.reason}: ${l.message})`);
        }),
      ]);
    });
    const bytes = readback.getMappedRange().slice(0);
    readback.unmap();
    const result = new Map<ValueId, Tensor>();
    const wanted = outputs ?? graph.outputs.map((o) => o.value);
    for (const id of wanted) {
      const root = plan.aliases.get(id) ?? id;
      const node = byId.get(id)!;
      const n = node.shape.reduce((a, d) => a * d, 1);
      const at = readOffsets.get(root)!;
      result.set(id, { shape: node.shape, data: fromDevice(bytes, at, n, plan.values.get(root)!.dtype) });
    }
    return result;
  }

  return {
    device,
    pipelines,
    uploads,
    prepare,
    evaluate(graph, feeds, outputs) {
      // One run at a time: runs share arenas and readback buffers.
      const next = queue.then(() => run(graph, feeds, outputs));
      queue = next.catch(() => undefined);
      return next;
    },
    dispatchOnly(prepared, times) {
      const encoder = gpu.createCommandEncoder();
      for (let i = 0; i < times; i++) encode(encoder, prepared);
      gpu.queue.submit([encoder.finish()]);
    },
    release() {
      for (const b of buffers) b.destroy();
      for (const a of arenas) a.destroy();
      buffers.length = 0;
      arenas.length = 0;
    },
  };
}

/** The plan's params that no kernel writes (a binding other than read-only). */
function keepableParams(graph: Graph, plan: KernelPlan): Set<ValueId> {
  const params = new Set(graph.nodes.filter((n) => n.op === "param").map((n) => n.id));
  for (const s of plan.steps)
    s.args.forEach((id, k) => {
      if (s.kernel.bindings[k]!.access !== "read") params.delete(id);
    });
  return new Set(plan.feeds.filter((id) => params.has(id)));
}

/** What kernels may assume of `device`: its grid limit, subgroups of at least 8 lanes, f16 storage. */
export function kernelTarget(device: Device): KernelTarget {
  return {
    maxWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
    subgroups: device.features.includes("subgroups") && (device.adapter.info.subgroupMinSize ?? 0) >= 8,
    shaderF16: device.features.includes("shader-f16"),
  };
}
