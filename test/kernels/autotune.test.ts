// The autotuner's choice is cached per adapter and driver (and the version of the choices on offer),
// and a CPU adapter gets the register matmul with a tile timed per large shape class among those its
// subgroups allow.

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  autotune,
  registerTileChoices,
  subgroupsOfLanes,
  TUNE_VERSION,
  tunedExecutorOptions,
} from "../../runtime/executor/autotune.ts";
import {
  BROADCAST_MATMUL_TILES,
  BROADCAST_TILES,
  DEFAULT_MATMUL_TILES,
  REGISTER_TILES,
} from "../../runtime/kernels/matmul.ts";
import { deviceOrSkip } from "./helpers.ts";

const device = await deviceOrSkip("autotune.test.ts");
afterAll(() => device?.destroy());

describe.skipIf(!device)("autotune", () => {
  it("chooses a matmul variant once and caches it under the adapter's key", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "vlmp-tune-"));
    // Small products keep the test fast; the benchmarks tune on ViT-sized ones.
    const products = { wide: [64, 64, 256], deep: [32, 256, 64] } as const;
    const first = await autotune(device!, dir, products);
    expect(first.version).toBe(TUNE_VERSION);
    if (device!.info.isCpu) {
      expect(first.matmul).toBe("register");
      // Each large shape class got one of the candidate tiles, timed.
      const { candidates } = registerTileChoices(device!);
      for (const cls of ["wide", "deep"] as const) expect(candidates).toContainEqual(first.matmulTiles![cls]);
      expect(Object.keys(first.timings!)).toHaveLength(2 * candidates.length);
    }
    const cached = JSON.parse(readFileSync(path.join(dir, "autotune.json"), "utf8"));
    expect(cached[device!.key]).toEqual(first);
    expect(await autotune(device!, dir, products)).toEqual(first);
  });

  it("runs use the cached tuning; an untuned CPU adapter gets its default tiles without timing", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "vlmp-tuned-"));
    if (device!.info.isCpu) {
      expect(await tunedExecutorOptions(device!, dir)).toEqual({
        matmul: "register",
        matmulTiles: subgroupsOfLanes(device!) ? BROADCAST_MATMUL_TILES : DEFAULT_MATMUL_TILES,
      });
      expect(existsSync(path.join(dir, "autotune.json"))).toBe(false);
    }
    const tiles = { small: REGISTER_TILES[1]!, wide: REGISTER_TILES[3]!, deep: BROADCAST_TILES[1]! };
    const cache = (version: number) =>
      writeFileSync(
        path.join(dir, "autotune.json"),
        JSON.stringify({ [device!.key]: { version, matmul: "tiled", matmulTiles: tiles } }),
      );
    cache(TUNE_VERSION);
    expect(await tunedExecutorOptions(device!, dir)).toEqual({ matmul: "tiled", matmulTiles: tiles });
    // Made among older choices: not used (a GPU tunes again, a CPU adapter takes its defaults).
    cache(TUNE_VERSION - 1);
    expect((await tunedExecutorOptions(device!, dir)).matmulTiles).not.toEqual(tiles);
  });
});
