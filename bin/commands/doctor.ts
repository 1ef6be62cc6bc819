// `vlmp doctor`: what WebGPU backend and adapter this machine offers, its driver, limits and
// features, and whether a tiny kernel runs and gives the right answer. Exit 0 when it does, 1 otherwise.

import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { acquireDevice, type Device, NoAdapterError } from "../../runtime/device/device.ts";
import {
  autotune,
  CLASS_PRODUCTS,
  cachedTuning,
  cacheFile,
  type TuneResult,
  tileLabel,
} from "../../runtime/executor/autotune.ts";
import { createExecutor } from "../../runtime/executor/executor.ts";

export interface DoctorOptions {
  json?: boolean;
  /** Time the matmul choices now and cache them (vlmp run and embed then use them). */
  tune?: boolean;
}

const CACHE_DIR = ".vlmp-cache";

/** The matmul choice runs use, in words: tuned (and where cached) or the defaults. */
function describeTuning(tuned: TuneResult | undefined): string {
  if (!tuned)
    return "register kernel, default tiles (not tuned: vlmp doctor --tune times them, a few minutes on a CPU)";
  const tiles = tuned.matmulTiles
    ? `; tiles ${Object.entries(tuned.matmulTiles)
        .map(([cls, t]) => `${cls} ${tileLabel(t)}`)
        .join(", ")}`
    : "";
  return `${tuned.matmul}${tiles} (tuned; ${cacheFile(CACHE_DIR)})`;
}

interface SelfTest {
  readonly ok: boolean;
  readonly detail: string;
  readonly ms: number;
}

/** y = relu(x W + 1) on 8x8 inputs, checked against the same computed on the host. */
async function selfTest(device: Device): Promise<SelfTest> {
  const t0 = performance.now();
  const b = new GraphBuilder();
  const x = b.input("x", [8, 8]);
  const w = b.input("w", [8, 8]);
  const y = b.relu(b.add(b.matmul(x, w), 1));
  b.output("y", y);
  const xs = Float64Array.from({ length: 64 }, (_, i) => ((i * 7) % 11) / 11 - 0.5);
  const ws = Float64Array.from({ length: 64 }, (_, i) => ((i * 5) % 13) / 13 - 0.5);
  const ex = await createExecutor(device);
  try {
    const out = await ex.evaluate(
      b.build(),
      new Map([
        [x.id, { shape: [8, 8], data: xs }],
        [w.id, { shape: [8, 8], data: ws }],
      ]),
    );
    const got = out.get(y.id)!.data;
    let err = 0;
    for (let i = 0; i < 8; i++) {
      for (let j = 0; j < 8; j++) {
        let acc = 1;
        for (let k = 0; k < 8; k++) acc += xs[i * 8 + k]! * ws[k * 8 + j]!;
        err = Math.max(err, Math.abs(Math.max(acc, 0) - got[i * 8 + j]!));
      }
    }
    const ok = err < 1e-5;
    return {
      ok,
      detail: `relu(x W + 1), 8x8: max error ${err.toExponential(1)}`,
      ms: performance.now() - t0,
    };
  } finally {
    ex.release();
  }
}

export async function runDoctor(options: DoctorOptions): Promise<number> {
  let device: Device;
  try {
    device = await acquireDevice();
  } catch (e) {
    const message = e instanceof NoAdapterError ? e.message : `WebGPU set-up failed: ${(e as Error).message}`;
    if (options.json) process.stdout.write(`${JSON.stringify({ ok: false, error: message })}\n`);
    else process.stdout.write(`backend   webgpu (Dawn, npm webgpu)\nadapter   none\n\n${message}\n`);
    return 1;
  }
  try {
    let test: SelfTest;
    try {
      test = await selfTest(device);
    } catch (e) {
      test = { ok: false, detail: `self-test failed: ${(e as Error).message.split("\n")[0]}`, ms: 0 };
    }
    const { info } = device;
    const tuned =
      options.tune && test.ok
        ? await autotune(device, CACHE_DIR, CLASS_PRODUCTS, true)
        : cachedTuning(device, CACHE_DIR);
    if (options.json) {
      const report = {
        ok: test.ok,
        backend: "webgpu",
        adapter: info,
        features: device.features,
        limits: device.limits,
        selfTest: test,
        matmul: tuned ?? null,
      };
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      const lines = [
        "backend   webgpu (Dawn, npm webgpu)",
        `adapter   ${[info.vendor, info.architecture, info.device].filter(Boolean).join(" ")}${info.isCpu ? " (CPU)" : ""}`,
        `driver    ${info.description || "(not reported)"}`,
        `features  ${device.features.length > 0 ? device.features.join(", ") : "(none of shader-f16, timestamp-query, subgroups)"}`,
        "limits",
        ...Object.entries(device.limits).map(([k, v]) => `  ${k.padEnd(36)} ${v}`),
        `self-test ${test.ok ? "ok" : "FAILED"}: ${test.detail} (${test.ms.toFixed(0)} ms)`,
        `matmul    ${describeTuning(tuned)}`,
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
    }
    return test.ok ? 0 : 1;
  } finally {
    device.destroy();
  }
}
