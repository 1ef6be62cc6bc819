// The register matmul at every tile the autotuner may choose (those broadcasting A where subgroups
// are the kernel's lanes): random shapes that are not multiples of any tile (rows, vec4 column
// groups, lanes), transposes, batches that fold into rows (a shared B) and ones that do not, and a
// bias + QuickGELU epilogue, all against the reference interpreter; and the shape classes the tiles
// are chosen by.

import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { ValueId } from "../../compiler/graph/graph.ts";
import { subgroupsOfLanes, tileLabel } from "../../runtime/executor/autotune.ts";
import { createExecutor } from "../../runtime/executor/executor.ts";
import {
  BROADCAST_TILES,
  DEFAULT_MATMUL_TILES,
  type MatmulSpec,
  matmulKernel,
  matmulShapeClass,
  REGISTER_TILES,
} from "../../runtime/kernels/matmul.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";
import { rng } from "../graph/helpers.ts";
import { deviceOrSkip, expectClose, randomData, reference } from "./helpers.ts";

const device = await deviceOrSkip("matmul-tiles.test.ts");
afterAll(() => device?.destroy());

const plain = (m: number, k: number, n: number, batch: number[] = []): MatmulSpec => ({
  aShape: [...batch, m, k],
  bShape: [k, n],
  transA: false,
  transB: false,
  shape: [...batch, m, n],
});

describe("register matmul tiles", () => {
  it("classes ViT-B/16 products as wide or deep and small ones as small", () => {
    expect(matmulShapeClass(plain(197, 768, 3072, [32]))).toBe("wide");
    expect(matmulShapeClass(plain(6304, 3072, 768))).toBe("deep");
    expect(matmulShapeClass(plain(50, 64, 50, [384]))).toBe("small");
    expect(matmulShapeClass(plain(1024, 64, 64))).toBe("small");
    expect(matmulShapeClass(plain(256, 256, 256))).toBe("small");
  });

  it("folds a batch that shares B into rows (one grid over 6304 rows) and tags tiles other than the default", () => {
    const k = matmulKernel(plain(197, 768, 3072, [32]), "register", DEFAULT_MATMUL_TILES);
    expect(k.name).toBe("matmul_register[32x197x768x3072;r12c4]");
    expect(k.dispatch).toEqual([Math.ceil(3072 / 4 / 32), Math.ceil(6304 / 12), 1]);
    const shared = matmulKernel({ ...plain(197, 768, 3072, [32]), bShape: [32, 768, 3072] });
    // B with a batch of its own: one grid per batch (z), rows of 197 in 12-row groups.
    expect(shared.dispatch).toEqual([Math.ceil(3072 / 4 / 32), Math.ceil(197 / 12), 32]);
  });

  it("broadcasting A, reads one row of A per lane per k step and broadcasts the rest", () => {
    const k = matmulKernel(plain(1600, 768, 2304), "register", { rows: 24, cols: 2, broadcastA: true });
    expect(k.name).toBe("matmul_register[1600x768x2304;r24c2s]");
    expect(k.code.startsWith("enable subgroups;")).toBe(true);
    const loop = k.code.slice(k.code.indexOf("for (var k"));
    expect(loop.match(/= a\[/g)).toHaveLength(3);
    expect(loop.match(/subgroupBroadcast\(a2, 7u\)/g)).toHaveLength(2);
    expect(() =>
      matmulKernel(plain(64, 64, 64), "register", { rows: 12, cols: 2, broadcastA: true }),
    ).toThrow(/multiple of 8 rows/);
  });

  const matmulCase = fc.record({
    m: fc.integer({ min: 1, max: 45 }),
    k: fc.integer({ min: 1, max: 37 }),
    n: fc.integer({ min: 1, max: 150 }),
    transA: fc.boolean(),
    transB: fc.boolean(),
    batchA: fc.constantFrom([], [3], [2, 1]),
    batchB: fc.constantFrom([], [3], [1]),
    epilogue: fc.boolean(),
    seed: fc.integer(),
  });

  for (const tile of [...REGISTER_TILES.slice(1), ...BROADCAST_TILES]) {
    it.skipIf(!device || (tile.broadcastA && !subgroupsOfLanes(device)))(
      `tile ${tileLabel(tile)} agrees with the interpreter`,
      async () => {
        const executor = await createExecutor(device!, {
          matmulTiles: { small: tile, wide: tile, deep: tile },
        });
        try {
          await fc.assert(
            fc.asyncProperty(matmulCase, async (c) => {
              const r = rng(c.seed);
              const b = new GraphBuilder();
              const feeds = new Map<ValueId, Tensor>();
              const input = (name: string, shape: number[]) => {
                const v = b.input(name, shape);
                feeds.set(v.id, {
                  shape,
                  data: randomData(
                    r,
                    shape.reduce((a, d) => a * d, 1),
                  ),
                });
                return v;
              };
              const x = input("a", [...c.batchA, ...(c.transA ? [c.k, c.m] : [c.m, c.k])]);
              const y = input("b", [...c.batchB, ...(c.transB ? [c.n, c.k] : [c.k, c.n])]);
              const product = b.matmul(x, y, { transA: c.transA, transB: c.transB });
              const biased = b.add(product, input("bias", [c.n]));
              const z = c.epilogue ? b.mul(biased, b.sigmoid(b.mul(biased, b.scalar(1.702)))) : product;
              b.output("z", z);
              const graph = b.build();
              const want = reference(graph, feeds).get(z.id)!;
              const got = (await executor.evaluate(graph, feeds, [z.id])).get(z.id)!;
              expectClose(got, want, { rtol: 1e-5, atol: 4e-7 * c.k }, `matmul ${JSON.stringify(c)}`);
            }),
            { numRuns: 6, seed: tile.rows * 10 + tile.cols, endOnFailure: true },
          );
        } finally {
          executor.release();
        }
      },
      // Six large-tile shaders to compile: up to 67 s a tile with a cold shader cache (a fresh machine).
      240_000,
    );
  }
});
