// The register matmul reads its row count at run time (from the result's binding), so products that
// differ only in rows run one compiled pipeline: random row counts (not multiples of any tile), with
// transposes, f16 weights, batches folded into rows, batches of their own and A broadcast over B's,
// each evaluated through one executor against the reference interpreter, and the executor's cache
// holding one shader per product shape however many row counts ran (one per row count where C has
// fewer than 4 columns, which bake it).

import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { ValueId } from "../../compiler/graph/graph.ts";
import { subgroupsOfLanes, tileLabel } from "../../runtime/executor/autotune.ts";
import { createExecutor } from "../../runtime/executor/executor.ts";
import { BROADCAST_TILES, DEFAULT_REGISTER_TILE, type RegisterTile } from "../../runtime/kernels/matmul.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";
import { rng } from "../graph/helpers.ts";
import { deviceOrSkip, expectClose, randomData, reference } from "./helpers.ts";

const device = await deviceOrSkip("matmul-shared-rows.test.ts");
afterAll(() => device?.destroy());

/** How batch axes enter: none, A's folded into rows (B shared), both batched, A broadcast over B's. */
type Batching = "none" | "fold" | "own" | "broadcastA";

const productCase = fc.record({
  rows: fc.uniqueArray(fc.integer({ min: 1, max: 70 }), { minLength: 3, maxLength: 3 }),
  k: fc.integer({ min: 1, max: 20 }),
  n: fc.integer({ min: 1, max: 70 }),
  transA: fc.boolean(),
  transB: fc.boolean(),
  halfB: fc.boolean(),
  seed: fc.integer(),
});

type ProductCase = typeof productCase extends fc.Arbitrary<infer T> ? T : never;

/** A graph of one product with `m` rows (per batch) and random feeds for it. */
function productGraph(c: ProductCase, batching: Batching, m: number) {
  const r = rng(c.seed + m);
  const b = new GraphBuilder();
  const feeds = new Map<ValueId, Tensor>();
  const fed = <T extends { id: ValueId; shape: readonly number[] }>(v: T): T => {
    feeds.set(v.id, {
      shape: v.shape,
      data: randomData(
        r,
        v.shape.reduce((a, d) => a * d, 1),
      ),
    });
    return v;
  };
  const batchA = batching === "fold" || batching === "own" ? [3] : [];
  const batchB = batching === "own" || batching === "broadcastA" ? [3] : [];
  // Folding needs A row-major (a transposed A's batches are not rows).
  const transA = c.transA && batching !== "fold";
  const x = fed(b.input("a", [...batchA, ...(transA ? [c.k, m] : [m, c.k])]));
  const bShape = [...batchB, ...(c.transB ? [c.n, c.k] : [c.k, c.n])];
  // A weight kept at f16 is read by the matmul as it lies.
  const y =
    c.halfB && batchB.length === 0
      ? b.cast(fed(b.param("w", bShape, { trainable: false, dtype: "f16" })), "f32")
      : fed(b.input("b", bShape));
  const z = b.matmul(x, y, { transA, transB: c.transB });
  b.output("z", z);
  return { graph: b.build(), feeds, out: z.id };
}

describe("register matmuls of any row count share a pipeline", () => {
  // The run-time row count is the same code in every tile: one that reads A per lane and the
  // quickest to compile of those broadcasting it (matmul-tiles.test.ts runs every tile).
  const tiles: RegisterTile[] = [DEFAULT_REGISTER_TILE, BROADCAST_TILES[0]!];
  for (const tile of tiles) {
    for (const batching of ["none", "fold", "own", "broadcastA"] as const) {
      it.skipIf(!device || (tile.broadcastA && !subgroupsOfLanes(device)))(
        `tile ${tileLabel(tile)}, batches ${batching}: random row counts agree with the interpreter on one shader`,
        async () => {
          await fc.assert(
            fc.asyncProperty(productCase, async (c) => {
              const executor = await createExecutor(device!, {
                matmulTiles: { small: tile, wide: tile, deep: tile },
              });
              try {
                for (const m of c.rows) {
                  const { graph, feeds, out } = productGraph(c, batching, m);
                  const want = reference(graph, feeds).get(out)!;
                  const got = (await executor.evaluate(graph, feeds, [out])).get(out)!;
                  expectClose(
                    got,
                    want,
                    { rtol: 1e-5, atol: 4e-7 * c.k },
                    `${m} rows of ${JSON.stringify(c)}`,
                  );
                }
                expect(executor.pipelines.size, "shaders compiled").toBe(c.n >= 4 ? 1 : c.rows.length);
              } finally {
                executor.release();
              }
            }),
            { numRuns: 3, seed: tile.rows, endOnFailure: true },
          );
        },
        // Up to 9 shaders to compile: ~1 s each for 24 x 2 with a cold shader cache (a fresh machine).
        120_000,
      );
    }
  }
});
