// ViT-B/32 and ViT-B/16 image towers at batch 32 on random weights in the real shapes: vlmp (the forward
// written in stdlib/clip.vlmp, lowered and run by the WebGPU executor, f32) next to the hand-written PyTorch
// forward (bench/ref/clip_reference.py via clip_bench_reference.py, CPU, every core) in the same run.
// Weights and pixels are generated once here (seeded, f32) and handed to Python as raw float32.
//
// Parity: max abs error of vlmp's features against PyTorch f32, and relative to the largest |feature|
// (the features are ~N(0, 1)-scaled, so an elementwise ratio would divide by values near zero); PyTorch
// f32 against PyTorch f64 is printed as the floor two f32 forwards can be expected to reach.
// Throughput: images/s after one warm-up run (shader compiles, first-run driver work): vlmp end to end as
// `vlmp embed` runs a batch (pixels uploaded, weights resident since the warm-up, one command buffer,
// features read back) and device-only (the same dispatches, nothing uploaded or read back); PyTorch the
// forward alone.
//
// On lavapipe with 2 cores a full-depth forward takes about a minute (ViT-B/32) to several (ViT-B/16) per
// batch, so `npm run bench` runs ONE of the 12 encoder layers by default and says so in its header: the
// ratio then covers patch embedding, one layer and the head. VLMP_BENCH_CLIP_LAYERS=12 runs the real depth
// (minutes); VLMP_BENCH_CLIP_MODELS=b32 or b16 picks one tower; VLMP_BENCH_CLIP_REPS sets the timed runs
// per side (default 1, the median is reported). VLMP_PROFILE=1 also prints each tower's per-kernel device
// times (runtime/executor/profile.ts: one timestamped pass per dispatch, grouped by kernel and family,
// with GFLOP/s of matmuls and attention and the gaps between dispatches). VLMP_BENCH_CLIP_PRECISION=f16 runs
// the towers as `precision = f16` does (matmul weights held at f16 on the device); the weights are then drawn
// f16-exact, so PyTorch's f32 forward computes on the same values and the parity check still holds at f32.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ValueId } from "../compiler/graph/graph.ts";
import type { JsonValue } from "../compiler/values.ts";
import { compileBackboneIr } from "../runtime/checkpoint/layout.ts";
import { type ClipDims, hfClipTensors, seededUniform } from "../runtime/checkpoint/make-tiny.ts";
import { acquireDevice, type Device } from "../runtime/device/device.ts";
import { towerGraph } from "../runtime/embed/encoder.ts";
import { autotune } from "../runtime/executor/autotune.ts";
import { createExecutor } from "../runtime/executor/executor.ts";
import { formatProfile, profilePrepared } from "../runtime/executor/profile.ts";
import { roundToHalf } from "../runtime/formats/half.ts";
import { type Feed, markImmutable } from "../runtime/reference/tensor.ts";

const BATCH = 32;
const SEED = 6;
const TOLERANCE = 1e-4;

interface Model {
  readonly name: string;
  readonly patch: number;
}

const MODELS: readonly Model[] = [
  { name: "ViT-B/32", patch: 32 },
  { name: "ViT-B/16", patch: 16 },
];

function dims(patch: number, layers: number): ClipDims {
  return {
    imageSize: 224,
    patchSize: patch,
    visionWidth: 768,
    visionLayers: layers,
    visionHeads: 12,
    textWidth: 512,
    textLayers: 1,
    textHeads: 8,
    projectionDim: 512,
    maxPositions: 77,
    vocabSize: 49408,
  };
}

/** Seeded normals (Box–Muller on sfc32), rounded to f32 so both sides read the same numbers. */
function normals(stream: string, size: number, mean: number, std: number): Float32Array {
  const out = new Float32Array(size);
  const uniform = seededUniform(SEED, stream);
  for (let i = 0; i < size; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - uniform()));
    const t = 2 * Math.PI * uniform();
    out[i] = mean + std * r * Math.cos(t);
    if (i + 1 < size) out[i + 1] = mean + std * r * Math.sin(t);
  }
  return out;
}

interface TorchResult {
  torch: string;
  threads: number;
  seconds: number[];
  f32: Float64Array;
  f64: Float64Array;
}

function runTorch(dir: string, reps: number): TorchResult | string {
  const python = "/usr/bin/python3";
  if (!existsSync(python)) return `${python} not found`;
  const script = fileURLToPath(new URL("./ref/clip_bench_reference.py", import.meta.url));
  const r = spawnSync(python, [script, dir, dir, String(reps)], { encoding: "utf8", timeout: 900_000 });
  if (r.status !== 0)
    return `PyTorch reference failed: ${(r.stderr || r.error?.message || "").trim().split("\n").at(-1)}`;
  const out = JSON.parse(r.stdout) as Omit<TorchResult, "f32" | "f64">;
  const read = (f: string) => {
    const b = readFileSync(join(dir, f));
    return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
  };
  return { ...out, f32: read("features_f32.bin"), f64: read("features_f64.bin") };
}

function errors(a: ArrayLike<number>, ref: ArrayLike<number>): { abs: number; rel: number } {
  let abs = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    abs = Math.max(abs, Math.abs(a[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return { abs, rel: abs / scale };
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export interface ClipBenchRow {
  readonly name: string;
  readonly layers: number;
  readonly maxAbs: number;
  readonly maxRel: number;
  readonly vlmpImagesPerS: number;
  readonly vlmpDeviceImagesPerS: number;
  readonly torchImagesPerS: number | undefined;
}

export async function benchClip(log: (line: string) => void = console.log): Promise<ClipBenchRow[]> {
  const layers = Number(process.env["VLMP_BENCH_CLIP_LAYERS"] ?? 1);
  const reps = Math.max(1, Number(process.env["VLMP_BENCH_CLIP_REPS"] ?? 1));
  const precision = process.env["VLMP_BENCH_CLIP_PRECISION"] ?? "f32";
  if (precision !== "f32" && precision !== "f16")
    throw new Error(`VLMP_BENCH_CLIP_PRECISION must be f32 or f16, got ${precision}`);
  const half = precision === "f16";
  const pick = process.env["VLMP_BENCH_CLIP_MODELS"];
  const profile = process.env["VLMP_PROFILE"] === "1";
  const norm = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, "");
  const models = MODELS.filter((m) => !pick || pick.split(",").some((p) => norm(m.name).endsWith(norm(p))));
  if (models.length === 0) throw new Error(`VLMP_BENCH_CLIP_MODELS=${pick}: none of b32, b16`);
  if (!Number.isInteger(layers) || layers < 1 || layers > 12)
    throw new Error(`VLMP_BENCH_CLIP_LAYERS must be 1..12, got ${layers}`);
  let device: Device;
  try {
    device = await acquireDevice({ exactTimestamps: profile });
  } catch (e) {
    log(`clip: skipped (${(e as Error).message})`);
    return [];
  }
  const rows: ClipBenchRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), "vlmp-bench-clip-"));
  try {
    const tuned = await autotune(device);
    const adapter = `${device.info.description || device.info.device}`;
    const depth = layers === 12 ? "12 layers (full)" : `${layers} of 12 layers (NOT the full tower)`;
    log(
      `clip image towers, batch ${BATCH}, random weights (seed ${SEED}${half ? ", f16-exact" : ""}), ${depth}, ` +
        `precision ${precision}, on ${adapter}:`,
    );
    for (const m of models) {
      const d = dims(m.patch, layers);
      const call = `clip.clip_model(image: 224, patch: ${m.patch}, width: 768, layers: ${layers}, heads: 12, text_width: 512, text_layers: 1, text_heads: 8, embed: 512)`;
      const plain = compileBackboneIr(call);
      const settings: Record<string, JsonValue> = {
        ...plain.root.settings,
        precision: { $symbol: precision },
      };
      const ir = { ...plain, root: { ...plain.root, settings } };
      const tower = towerGraph(ir, settings["backbone"] as JsonValue, "image", BATCH);
      const pixelsIn = tower.inputs.get("pixels")!;

      // Weights by HF key in HF shapes (the graph reads the same row-major data), pixels ~N(0, 1).
      const specs = new Map(hfClipTensors(d).map((s) => [s.key, s]));
      const index: Record<string, { shape: number[]; offset: number }> = {};
      const chunks: Float32Array[] = [];
      const feeds = new Map<ValueId, Feed>();
      let offset = 0;
      // f32 as `vlmp run` and `vlmp embed` feed them; the weights immutable (resident across batches),
      // the pixels a fresh upload every batch.
      const add = (key: string, shape: number[], data: Float32Array, id: ValueId, weight: boolean) => {
        index[key] = { shape, offset };
        offset += data.length;
        chunks.push(data);
        const feed = { shape: [...tower.graph.nodes.find((n) => n.id === id)!.shape], data };
        feeds.set(id, weight ? markImmutable(feed) : feed);
      };
      for (const [key, value] of tower.params) {
        const spec = specs.get(key);
        if (spec?.init.kind !== "normal") throw new Error(`no random init for ${key}`);
        const size = spec.shape.reduce((a, b) => a * b, 1);
        const weights = normals(`${m.name}:${key}`, size, spec.init.mean ?? 0, spec.init.std);
        if (half) for (let i = 0; i < weights.length; i++) weights[i] = roundToHalf(weights[i]!);
        add(key, spec.shape, weights, value.id, true);
      }
      add(
        "pixels",
        [BATCH, 3, 224, 224],
        normals(`${m.name}:pixels`, BATCH * 3 * 224 * 224, 0, 1),
        pixelsIn.id,
        false,
      );
      const all = new Float32Array(offset);
      let at = 0;
      for (const c of chunks) {
        all.set(c, at);
        at += c.length;
      }
      writeFileSync(join(dir, "tensors.bin"), all);
      writeFileSync(
        join(dir, "index.json"),
        JSON.stringify({ config: { eps: 1e-5, patch: m.patch, layers, heads: 12 }, tensors: index }),
      );
      const paramCount = offset - BATCH * 3 * 224 * 224;

      // vlmp: warm-up (compiles), then timed runs end to end and device-only.
      const ex = await createExecutor(device, tuned);
      const out = tower.output.id;
      const first = (await ex.evaluate(tower.graph, feeds, [out])).get(out)!;
      const endToEnd: number[] = [];
      for (let i = 0; i < reps; i++) {
        const t0 = performance.now();
        await ex.evaluate(tower.graph, feeds, [out]);
        endToEnd.push((performance.now() - t0) / 1000);
      }
      const prepared = await ex.prepare(tower.graph, [out]);
      const deviceOnly: number[] = [];
      for (let i = 0; i < reps; i++) {
        const t0 = performance.now();
        ex.dispatchOnly(prepared, 1);
        await device.settle(median(endToEnd) * 900);
        deviceOnly.push((performance.now() - t0) / 1000);
      }
      const kernels = prepared.plan.steps.length;
      if (profile) {
        log(`  ${m.name} per-kernel device time (one forward, batch ${BATCH}):`);
        for (const line of formatProfile(await profilePrepared(device, prepared))) log(line);
      }
      ex.release();

      const torch = runTorch(dir, reps);
      const vlmpIps = BATCH / median(endToEnd);
      const deviceIps = BATCH / median(deviceOnly);
      log(
        `  ${m.name} (${(paramCount / 1e6).toFixed(1)}M params, ${kernels} kernels): vlmp ${vlmpIps.toFixed(2)} img/s ` +
          `end to end, ${deviceIps.toFixed(2)} img/s device-only`,
      );
      if (typeof torch === "string") {
        log(`    ${torch}`);
        rows.push({
          name: m.name,
          layers,
          maxAbs: Number.NaN,
          maxRel: Number.NaN,
          vlmpImagesPerS: vlmpIps,
          vlmpDeviceImagesPerS: deviceIps,
          torchImagesPerS: undefined,
        });
        continue;
      }
      const torchIps = BATCH / median(torch.seconds);
      const e = errors(first.data, torch.f32);
      const floor = errors(torch.f32, torch.f64);
      const e64 = errors(first.data, torch.f64);
      log(
        `    PyTorch ${torch.torch} CPU, ${torch.threads} threads: ${torchIps.toFixed(2)} img/s · ` +
          `ratio ${(vlmpIps / torchIps).toFixed(3)}x end to end, ${(deviceIps / torchIps).toFixed(3)}x device-only (goal >= 0.1x)`,
      );
      log(
        `    parity vs PyTorch f32: max abs ${e.abs.toExponential(2)}, max rel ${e.rel.toExponential(2)} ` +
          `(abs / max |feature|) -> ${e.rel <= TOLERANCE ? "within" : "NOT within"} ${TOLERANCE} · ` +
          `vs f64: ${e64.rel.toExponential(2)} · PyTorch f32 vs f64: ${floor.rel.toExponential(2)}`,
      );
      rows.push({
        name: m.name,
        layers,
        maxAbs: e.abs,
        maxRel: e.rel,
        vlmpImagesPerS: vlmpIps,
        vlmpDeviceImagesPerS: deviceIps,
        torchImagesPerS: torchIps,
      });
    }
  } finally {
    device.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
