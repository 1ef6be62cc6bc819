// Per-kernel device time of a prepared plan, from timestamp queries: each dispatch runs in its own
// compute pass whose beginning and end are stamped, so a step's time is the driver's own account of
// it and the gap between one pass's end and the next's beginning is what launching a dispatch
// costs. Steps are grouped by kernel name (family and sizes, e.g. "matmul_register[6304x768x3072]").
// Needs the adapter's "timestamp-query" feature; acquire the device with exactTimestamps, or Dawn
// rounds every stamp to ~65 µs.

/// <reference types="@webgpu/types" />
import type { Device } from "../device/device.ts";
import { DeviceError } from "../device/device.ts";
import type { Prepared } from "./executor.ts";

/** Dawn's cap on one query set. */
const MAX_QUERIES = 4096;

export interface KernelGroup {
  /** The kernel's name: its family then its sizes in brackets. */
  readonly name: string;
  /** The family: the name before its bracket (matmul_register, attention, layernorm_rows, ...). */
  readonly family: string;
  readonly dispatches: number;
  /** Device milliseconds over all its dispatches. */
  readonly ms: number;
  /** Multiply-add flops over all its dispatches (matmul and attention; 0 for others). */
  readonly flops: number;
}

export interface Profile {
  readonly groups: readonly KernelGroup[];
  /** Sum of every dispatch's time. */
  readonly kernelMs: number;
  /** Sum of the gaps between one dispatch's end and the next's beginning. */
  readonly gapMs: number;
  /** First beginning to last end. */
  readonly spanMs: number;
  readonly dispatches: number;
}

/**
 * Flops a kernel performs, read from the sizes in its name: matmul "[batch..x]MxKxN" (2MKN), attention
 * "batch..xLqxLkxDxDv" (2 Lq Lk (D + Dv)). 0 for any other family.
 */
export function kernelFlops(name: string): number {
  const family = name.split("[")[0]!;
  const sizes = (name.split("[")[1] ?? "")
    .split(/[;+\]]/)[0]!
    .split("x")
    .map(Number);
  if (sizes.some((s) => !Number.isFinite(s))) return 0;
  const product = (xs: number[]) => xs.reduce((a, b) => a * b, 1);
  if (family.startsWith("matmul") && sizes.length >= 3) {
    const [m, k, n] = sizes.slice(-3) as [number, number, number];
    return 2 * product(sizes.slice(0, -3)) * m * k * n;
  }
  if (family === "attention" && sizes.length >= 4) {
    const [lq, lk, d, dv] = sizes.slice(-4) as [number, number, number, number];
    return 2 * product(sizes.slice(0, -4)) * lq * lk * (d + dv);
  }
  return 0;
}

/** Runs `prepared` once with every dispatch stamped and returns its times grouped by kernel. */
export async function profilePrepared(device: Device, prepared: Prepared): Promise<Profile> {
  if (!device.features.includes("timestamp-query"))
    throw new DeviceError(`the adapter (${device.info.description}) has no timestamp-query feature`);
  const gpu = device.device;
  const steps = prepared.plan.steps;
  const perSet = MAX_QUERIES / 2;
  const sets = Array.from({ length: Math.ceil(steps.length / perSet) }, (_, i) =>
    gpu.createQuerySet({ type: "timestamp", count: 2 * Math.min(perSet, steps.length - i * perSet) }),
  );
  const bytes = 16 * steps.length;
  const resolve = gpu.createBuffer({
    size: bytes,
    usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
  });
  const readback = gpu.createBuffer({
    size: bytes,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    const encoder = gpu.createCommandEncoder();
    steps.forEach((s, i) => {
      const at = i % perSet;
      const pass = encoder.beginComputePass({
        timestampWrites: {
          querySet: sets[Math.floor(i / perSet)]!,
          beginningOfPassWriteIndex: 2 * at,
          endOfPassWriteIndex: 2 * at + 1,
        },
      });
      pass.setPipeline(prepared.pipelines[i]!.pipeline);
      pass.setBindGroup(0, prepared.bindGroups[i]!);
      pass.dispatchWorkgroups(...s.kernel.dispatch);
      pass.end();
    });
    sets.forEach((set, i) => {
      encoder.resolveQuerySet(set, 0, set.count, resolve, i * perSet * 16);
    });
    encoder.copyBufferToBuffer(resolve, 0, readback, 0, bytes);
    gpu.queue.submit([encoder.finish()]);
    await prepared.wait.until(performance.now(), () => readback.mapAsync(GPUMapMode.READ));
    const stamps = new BigUint64Array(readback.getMappedRange().slice(0));
    readback.unmap();
    const ns = (i: number) => Number(stamps[i]! - stamps[0]!);
    const byName = new Map<string, { dispatches: number; ms: number }>();
    let kernelMs = 0;
    let gapMs = 0;
    steps.forEach((s, i) => {
      const ms = (ns(2 * i + 1) - ns(2 * i)) / 1e6;
      kernelMs += ms;
      if (i > 0) gapMs += (ns(2 * i) - ns(2 * i - 1)) / 1e6;
      const g = byName.get(s.kernel.name) ?? { dispatches: 0, ms: 0 };
      g.dispatches++;
      g.ms += ms;
      byName.set(s.kernel.name, g);
    });
    const groups = [...byName]
      .map(([name, g]) => ({
        name,
        family: name.split("[")[0]!,
        dispatches: g.dispatches,
        ms: g.ms,
        flops: g.dispatches * kernelFlops(name),
      }))
      .sort((a, b) => b.ms - a.ms);
    return { groups, kernelMs, gapMs, spanMs: ns(2 * steps.length - 1) / 1e6, dispatches: steps.length };
  } finally {
    for (const s of sets) s.destroy();
    resolve.destroy();
    readback.destroy();
  }
}

/** The profile as text lines: per kernel, then per family, then launch overhead. */
export function formatProfile(p: Profile, top = 40): string[] {
  const pct = (ms: number) => `${((100 * ms) / p.kernelMs).toFixed(1).padStart(5)}%`;
  const rate = (flops: number, ms: number) => (flops > 0 ? `${(flops / ms / 1e6).toFixed(1)} GFLOP/s` : "");
  const lines = [`  ${"ms".padStart(9)} ${"share".padStart(6)} ${"n".padStart(4)}  kernel`];
  for (const g of p.groups.slice(0, top)) {
    lines.push(
      `  ${g.ms.toFixed(1).padStart(9)} ${pct(g.ms)} ${String(g.dispatches).padStart(4)}  ${g.name} ${rate(g.flops, g.ms)}`,
    );
  }
  if (p.groups.length > top) lines.push(`  ... ${p.groups.length - top} more kernels`);
  const families = new Map<string, { ms: number; dispatches: number; flops: number }>();
  for (const g of p.groups) {
    const f = families.get(g.family) ?? { ms: 0, dispatches: 0, flops: 0 };
    f.ms += g.ms;
    f.dispatches += g.dispatches;
    f.flops += g.flops;
    families.set(g.family, f);
  }
  lines.push("  by family:");
  for (const [name, f] of [...families].sort((a, b) => b[1].ms - a[1].ms)) {
    lines.push(
      `  ${f.ms.toFixed(1).padStart(9)} ${pct(f.ms)} ${String(f.dispatches).padStart(4)}  ${name} ${rate(f.flops, f.ms)}`,
    );
  }
  lines.push(
    `  ${p.dispatches} dispatches: kernels ${p.kernelMs.toFixed(1)} ms, gaps between them ${p.gapMs.toFixed(1)} ms ` +
      `(${(p.gapMs / p.dispatches).toFixed(3)} ms each, ${((100 * p.gapMs) / p.spanMs).toFixed(1)}% of the ${p.spanMs.toFixed(1)} ms span)`,
  );
  return lines;
}
