// The matmul variant per adapter: CPU adapters (lavapipe) get the register kernel without timing
// (measured in issue 5: tiles and barriers only add work there), then the register kernel's tile
// per shape class, timed on one product of each large class (the best of two runs of each tile,
// interleaved, so a neighbour's load skews them alike) among the tiles the adapter can run (those
// that broadcast A need subgroups of exactly the kernel's lanes); other adapters time every variant
// once on a mid-sized product and keep the fastest. Results are cached on disk per adapter and
// driver in .vlmp-cache/autotune.json, with the version of the choices they were made among.

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Device } from "../device/device.ts";
import {
  BROADCAST_MATMUL_TILES,
  BROADCAST_TILES,
  DEFAULT_MATMUL_TILES,
  LANES,
  MATMUL_VARIANTS,
  type MatmulShapeClass,
  type MatmulTiles,
  type MatmulVariant,
  REGISTER_TILES,
  type RegisterTile,
} from "../kernels/matmul.ts";
import { createExecutor, type ExecutorOptions } from "./executor.ts";

/** Bumped when the tiles on offer change, so that caches made among older ones are measured again. */
export const TUNE_VERSION = 2;

export interface TuneResult {
  readonly version: number;
  readonly matmul: MatmulVariant;
  /** The register kernel's tile per shape class (CPU adapters). */
  readonly matmulTiles?: MatmulTiles;
  /** Milliseconds per variant where timed. */
  readonly timings?: Readonly<Record<string, number>>;
}

export function cacheFile(dir: string): string {
  return path.join(dir, "autotune.json");
}

function readCache(dir: string): Record<string, TuneResult> {
  try {
    return JSON.parse(readFileSync(cacheFile(dir), "utf8")) as Record<string, TuneResult>;
  } catch {
    return {};
  }
}

/** Milliseconds of one run of [m, k] x [k, n] under `opts`, after a warm-up run. */
async function timeProduct(
  device: Device,
  opts: { matmul: MatmulVariant; matmulTiles?: MatmulTiles },
  [m, k, n]: readonly [number, number, number],
  runs: number,
): Promise<number> {
  const ex = await createExecutor(device, opts);
  try {
    const b = new GraphBuilder();
    b.output("y", b.matmul(b.input("a", [m, k]), b.input("b", [k, n])));
    const prepared = await ex.prepare(b.build());
    ex.dispatchOnly(prepared, 1);
    await device.settle();
    const t0 = performance.now();
    ex.dispatchOnly(prepared, runs);
    await device.settle();
    return (performance.now() - t0) / runs;
  } finally {
    ex.release();
  }
}

/** The [m, k, n] product timed for each large shape class. */
export type ClassProducts = Readonly<
  Record<Exclude<MatmulShapeClass, "small">, readonly [number, number, number]>
>;

/** At ViT widths: a quarter of a second or so each on lavapipe. */
export const CLASS_PRODUCTS: ClassProducts = {
  wide: [768, 768, 3072],
  deep: [384, 3072, 768],
};

/** Whether the adapter's subgroups are exactly the register kernel's lanes (broadcastA tiles). */
export function subgroupsOfLanes(device: Device): boolean {
  const info = device.adapter.info;
  return (
    device.features.includes("subgroups") && info.subgroupMinSize === LANES && info.subgroupMaxSize === LANES
  );
}

/** The register tiles worth timing on `device`, and its tiles when untuned. */
export function registerTileChoices(device: Device): {
  candidates: readonly RegisterTile[];
  defaults: MatmulTiles;
} {
  return subgroupsOfLanes(device)
    ? { candidates: BROADCAST_TILES, defaults: BROADCAST_MATMUL_TILES }
    : { candidates: REGISTER_TILES, defaults: DEFAULT_MATMUL_TILES };
}

/** A tile's name in timings: rows x vec4 columns, "y" walking rows first, "s" broadcasting A. */
export function tileLabel(t: RegisterTile): string {
  return `${t.rows}x${t.cols}${t.rowsFirst ? "y" : ""}${t.broadcastA ? "s" : ""}`;
}

async function tuneTiles(
  device: Device,
  products: ClassProducts,
  timings: Record<string, number>,
): Promise<MatmulTiles> {
  const { candidates, defaults } = registerTileChoices(device);
  const tiles: Record<MatmulShapeClass, RegisterTile> = { ...defaults };
  for (const [cls, product] of Object.entries(products) as [
    keyof ClassProducts,
    readonly [number, number, number],
  ][]) {
    const best = new Map<RegisterTile, number>();
    for (let rep = 0; rep < 2; rep++) {
      for (const tile of candidates) {
        const ms = await timeProduct(
          device,
          { matmul: "register", matmulTiles: { small: tile, wide: tile, deep: tile } },
          product,
          1,
        );
        best.set(tile, Math.min(ms, best.get(tile) ?? Number.POSITIVE_INFINITY));
      }
    }
    for (const [tile, ms] of best) timings[`${cls} ${tileLabel(tile)}`] = ms;
    tiles[cls] = [...best].reduce((a, b) => (b[1] < a[1] ? b : a))[0];
  }
  return tiles;
}

/** The cached choices for `device` (undefined when it was never tuned, or tuned by an older vlmp). */
export function cachedTuning(device: Device, cacheDir: string): TuneResult | undefined {
  const known = readCache(cacheDir)[device.key];
  const cpu = device.info.isCpu && device.backend !== "null";
  return known?.version === TUNE_VERSION &&
    MATMUL_VARIANTS.includes(known.matmul) &&
    (!cpu || known.matmulTiles)
    ? known
    : undefined;
}

/**
 * The matmul choices `vlmp run` and `vlmp embed` give their executors on `device`: the cached tuning when
 * there is one; else on a GPU tuned now (a few 512³ products: seconds); else, on a CPU adapter, the default
 * tiles for its subgroups — timing tiles there compiles large kernels for minutes, so it runs only when asked
 * (`vlmp doctor --tune`, the benchmarks).
 */
export async function tunedExecutorOptions(
  device: Device,
  cacheDir = ".vlmp-cache",
): Promise<Pick<ExecutorOptions, "matmul" | "matmulTiles">> {
  const tuned =
    cachedTuning(device, cacheDir) ??
    (device.info.isCpu || device.backend === "null" ? undefined : await autotune(device, cacheDir));
  if (!tuned) return { matmul: "register", matmulTiles: registerTileChoices(device).defaults };
  return { matmul: tuned.matmul, ...(tuned.matmulTiles ? { matmulTiles: tuned.matmulTiles } : {}) };
}

/**
 * The tuned choices for `device`, from the cache or measured now (and then cached); `remeasure` times
 * them again. `products`: the product timed for each large shape class (tests pass small ones; the tiles
 * still run through every class's path).
 */
export async function autotune(
  device: Device,
  cacheDir = ".vlmp-cache",
  products: ClassProducts = CLASS_PRODUCTS,
  remeasure = false,
): Promise<TuneResult> {
  const known = remeasure ? undefined : cachedTuning(device, cacheDir);
  if (known) return known;
  const cpu = device.info.isCpu && device.backend !== "null";
  let result: TuneResult;
  if (device.backend === "null") {
    result = { version: TUNE_VERSION, matmul: "register" };
  } else if (cpu) {
    const timings: Record<string, number> = {};
    const matmulTiles = await tuneTiles(device, products, timings);
    result = { version: TUNE_VERSION, matmul: "register", matmulTiles, timings };
  } else {
    const timings: Record<string, number> = {};
    for (const v of MATMUL_VARIANTS)
      timings[v] = await timeProduct(device, { matmul: v }, [512, 512, 512], 10);
    const best = MATMUL_VARIANTS.reduce((a, v) => (timings[v]! < timings[a]! ? v : a));
    result = { version: TUNE_VERSION, matmul: best, timings };
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
