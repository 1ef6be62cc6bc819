// The matmul variant per adapter: CPU adapters (lavapipe) get the register kernel without timing
// (measured in issue 5: tiles and barriers only add work there); other adapters time every variant
// once on a mid-sized product and keep the fastest. Results are cached on disk per adapter and
// driver in .vlmp-cache/autotune.json.

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Device } from "../device/device.ts";
import { MATMUL_VARIANTS, type MatmulVariant } from "../kernels/matmul.ts";
import { createExecutor } from "./executor.ts";

export interface TuneResult {
  readonly matmul: MatmulVariant;
  /** Milliseconds per variant where timed. */
  readonly timings?: Readonly<Record<string, number>>;
}

function cacheFile(dir: string): string {
  return path.join(dir, "autotune.json");
}

function readCache(dir: string): Record<string, TuneResult> {
  try {
    return JSON.parse(readFileSync(cacheFile(dir), "utf8")) as Record<string, TuneResult>;
  } catch {
    return {};
  }
}

async function timeVariant(device: Device, variant: MatmulVariant): Promise<number> {
  const ex = await createExecutor(device, { matmul: variant });
  try {
    const b = new GraphBuilder();
    b.output("y", b.matmul(b.input("a", [512, 512]), b.input("b", [512, 512])));
    const prepared = await ex.prepare(b.build());
    ex.dispatchOnly(prepared, 1);
    await device.settle();
    const t0 = performance.now();
    ex.dispatchOnly(prepared, 10);
    await device.settle();
    return (performance.now() - t0) / 10;
  } finally {
    ex.release();
  }
}

/** The tuned choices for `device`, from the cache or measured now (and then cached). */
export async function autotune(device: Device, cacheDir = ".vlmp-cache"): Promise<TuneResult> {
  const cache = readCache(cacheDir);
  const known = cache[device.key];
  if (known && MATMUL_VARIANTS.includes(known.matmul)) return known;
  let result: TuneResult;
  if (device.info.isCpu || device.backend === "null") {
    result = { matmul: "register" };
  } else {
    const timings: Record<string, number> = {};
    for (const v of MATMUL_VARIANTS) timings[v] = await timeVariant(device, v);
    const best = MATMUL_VARIANTS.reduce((a, v) => (timings[v]! < timings[a]! ? v : a));
    result = { matmul: best, timings };
  }
  try {
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(
      cacheFile(cacheDir),
      `${JSON.stringify({ ...readCache(cacheDir), [device.key]: result }, null, 2)}\n`,
    );
  } catch {
    // A read-only checkout still runs; it just tunes again next time.
  }
  return result;
}
