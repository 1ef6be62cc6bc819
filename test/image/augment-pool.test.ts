// Train-time augmentation (RandomResizedCrop + flip, seeded per (seed, epoch, index)) and the worker pool
// (same arrays as on the main thread, input order, bounded prefetch, errors naming the path).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  augmentImage,
  augmentRandom,
  ImageDecodeError,
  ImagePool,
  loadImageBatches,
  preprocessBatch,
  randomResizedCropBox,
  runImageJob,
} from "../../runtime/image/index.ts";

const fixture = JSON.parse(readFileSync(join("test", "fixtures", "image", "pil-reference.json"), "utf8")) as {
  runs: { images: { path: string }[] }[];
};
const paths = fixture.runs[0]!.images.map((i) => i.path);

describe("augmentation", () => {
  it("the same (seed, epoch, index) gives the same numbers; any change gives others", () => {
    const a = augmentRandom(7, 2, 11);
    const b = augmentRandom(7, 2, 11);
    const first = [a(), a(), a()];
    expect([b(), b(), b()]).toEqual(first);
    for (const [s, e, i] of [
      [8, 2, 11],
      [7, 3, 11],
      [7, 2, 12],
    ] as const) {
      expect(augmentRandom(s, e, i)()).not.toBe(first[0]);
    }
    for (const x of first) expect(x >= 0 && x < 1).toBe(true);
  });

  it("crop boxes lie inside the image with area and ratio in range, or fall back to a centred crop", () => {
    for (let index = 0; index < 300; index++) {
      const random = augmentRandom(1, 0, index);
      const box = randomResizedCropBox(97, 61, random, [0.3, 0.9], [3 / 4, 4 / 3]);
      expect(box.left >= 0 && box.top >= 0).toBe(true);
      expect(box.left + box.width <= 97 && box.top + box.height <= 61).toBe(true);
      const area = (box.width * box.height) / (97 * 61);
      expect(area).toBeGreaterThan(0.25);
      expect(area).toBeLessThan(0.97);
    }
    // Every try fails (the area can never fit): torchvision's fallback, the largest centred crop in ratio.
    const box = randomResizedCropBox(200, 20, augmentRandom(0, 0, 0), [2, 3]);
    expect(box).toEqual({ top: 0, left: 86, height: 20, width: 27 });
  });

  it("augmented images are deterministic, sized, and differ across indices and epochs", async () => {
    const one = await augmentImage(paths[3]!, { size: 24, seed: 5, epoch: 0, index: 0 });
    expect(one.length).toBe(3 * 24 * 24);
    expect(await augmentImage(paths[3]!, { size: 24, seed: 5, epoch: 0, index: 0 })).toEqual(one);
    expect(await augmentImage(paths[3]!, { size: 24, seed: 5, epoch: 1, index: 0 })).not.toEqual(one);
    // With scale 1 and ratio fixed to the image's, only the flip remains: its mirror or itself.
    const plain = await augmentImage(paths[10]!, {
      size: 16,
      seed: 0,
      epoch: 0,
      index: 0,
      scale: [1, 1],
      ratio: [33 / 34, 33 / 34],
      flip: false,
    });
    expect(plain.length).toBe(3 * 16 * 16);
  });
});

describe("worker pool", () => {
  const pool = new ImagePool({ size: 32, workers: 2 });
  afterAll(() => pool.close());

  it("batches in input order, equal to preprocessing on the main thread", async () => {
    const want = await preprocessBatch(paths, { size: 32 });
    const per = 3 * 32 * 32;
    const starts: number[] = [];
    const got = new Float32Array(want.length);
    for await (const b of loadImageBatches(
      pool,
      paths.map((input) => ({ input })),
      { batch: 4, prefetch: 3 },
    )) {
      starts.push(b.start);
      expect(b.pixels.length).toBe(b.count * per);
      got.set(b.pixels, b.start * per);
    }
    expect(starts).toEqual([0, 4, 8, 12]);
    expect(got).toEqual(want);
  });

  it("augmentation jobs give the same arrays in a worker as inline", async () => {
    const job = { input: paths[0]!, augment: { seed: 3, epoch: 1, index: 9 } };
    expect(await pool.run(job)).toEqual(await runImageJob(job, { size: 32 }));
  });

  it("a missing or corrupt image fails with its path and reason", async () => {
    const jobs = [{ input: paths[0]! }, { input: "test/fixtures/image/missing.png" }];
    const consume = async () => {
      for await (const _ of loadImageBatches(pool, jobs, { batch: 1 })) {
        // drain
      }
    };
    await expect(consume()).rejects.toSatisfy(
      (e: unknown) =>
        e instanceof ImageDecodeError &&
        e.path === "test/fixtures/image/missing.png" &&
        e.reason === "missing",
    );
    await expect(pool.run({ input: "package.json" })).rejects.toMatchObject({
      name: "ImageDecodeError",
      path: "package.json",
      reason: "corrupt",
    });
  });

  it("0 workers runs on the calling thread", async () => {
    const inline = new ImagePool({ size: 32, workers: 0 });
    expect(inline.workers).toBe(0);
    expect(await inline.run({ input: paths[1]! })).toEqual(
      await runImageJob({ input: paths[1]! }, { size: 32 }),
    );
    await inline.close();
  });
});
