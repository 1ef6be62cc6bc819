// The autotuner's choice is cached per adapter and driver, and a CPU adapter gets the register matmul
// with a tile timed per large shape class.

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { autotune, tunedExecutorOptions } from "../../runtime/executor/autotune.ts";
import { DEFAULT_MATMUL_TILES, REGISTER_TILES } from "../../runtime/kernels/matmul.ts";
import { deviceOrSkip } from "./helpers.ts";

const device = await deviceOrSkip("autotune.test.ts");
afterAll(() => device?.destroy());

describe.skipIf(!device)("autotune", () => {
  it("chooses a matmul variant once and caches it under the adapter's key", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "vlmp-tune-"));
    // Small products keep the test fast; the benchmarks tune on ViT-sized ones.
    const products = { wide: [64, 64, 256], deep: [32, 256, 64] } as const;
    const first = await autotune(device!, dir, products);
    if (device!.info.isCpu) {
      expect(first.matmul).toBe("register");
      // Each large shape class got one of the candidate tiles, timed.
      for (const cls of ["wide", "deep"] as const)
        expect(REGISTER_TILES).toContainEqual(first.matmulTiles![cls]);
      expect(Object.keys(first.timings!)).toHaveLength(2 * REGISTER_TILES.length);
    }
    const cached = JSON.parse(readFileSync(path.join(dir, "autotune.json"), "utf8"));
    expect(cached[device!.key]).toEqual(first);
    expect(await autotune(device!, dir, products)).toEqual(first);
  });

  it("runs use the cached tuning; an untuned CPU adapter gets the default tiles without timing", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "vlmp-tuned-"));
    if (device!.info.isCpu) {
      expect(await tunedExecutorOptions(device!, dir)).toEqual({
        matmul: "register",
        matmulTiles: DEFAULT_MATMUL_TILES,
      });
      expect(existsSync(path.join(dir, "autotune.json"))).toBe(false);
    }
    const tiles = { small: REGISTER_TILES[1]!, wide: REGISTER_TILES[3]!, deep: REGISTER_TILES[2]! };
    writeFileSync(
      path.join(dir, "autotune.json"),
      JSON.stringify({ [device!.key]: { matmul: "tiled", matmulTiles: tiles } }),
    );
    expect(await tunedExecutorOptions(device!, dir)).toEqual({ matmul: "tiled", matmulTiles: tiles });
  });
});
