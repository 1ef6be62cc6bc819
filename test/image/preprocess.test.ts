// CLIP preprocessing against PIL: the committed fixture (PIL's output on test/fixtures/image/images at
// 32 px with HF's floor crop and 24 px with torchvision's rounded crop) must be reproduced exactly; where
// PIL is importable, the reference script is rerun (it must reproduce the fixture) and a wider set —
// photo-sized images and a synthetic world — is measured at 224 px.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runDataMake } from "../../bin/commands/data.ts";
import {
  CLIP_MEAN,
  CLIP_STD,
  centerOffset,
  ImageDecodeError,
  preprocessBatch,
  preprocessImage,
  resizeBicubic,
  rgbImage,
  shortestSideSize,
} from "../../runtime/image/index.ts";
import { compareWithPil, type PilRun, pilUnavailable, runPil } from "./pil-reference.ts";
import { writeTestImages } from "./test-images.ts";

const FIXTURE = join("test", "fixtures", "image", "pil-reference.json");
const fixture = JSON.parse(readFileSync(FIXTURE, "utf8")) as { runs: PilRun[] };
const tmp = mkdtempSync(join(tmpdir(), "vlmp-preprocess-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

if (pilUnavailable) console.warn(`skipping the PIL reruns: ${pilUnavailable}`);

describe("preprocessing against the PIL fixture", () => {
  for (const run of fixture.runs) {
    it(`${run.size} px, ${run.crop} crop: every byte as PIL's`, async () => {
      const diff = await compareWithPil(run);
      expect(diff.images).toBe(13);
      expect(diff.max).toBe(0);
    });
  }

  it("normalised floats agree with PIL + numpy to float32 rounding", async () => {
    const run = fixture.runs[0]!;
    for (const image of run.images) {
      if (!image.normalized) continue;
      const want = new Float32Array(new Uint8Array(Buffer.from(image.normalized, "base64")).buffer);
      const got = await preprocessImage(image.path, { size: run.size, crop: run.crop });
      expect(got.length).toBe(want.length);
      let max = 0;
      for (let i = 0; i < got.length; i++) max = Math.max(max, Math.abs(got[i]! - want[i]!));
      expect(max).toBeLessThan(1e-6);
    }
  });
});

describe.skipIf(pilUnavailable !== "")("PIL reruns", () => {
  it("the reference script reproduces the fixture", () => {
    for (const run of fixture.runs) {
      const again = runPil(
        run.images.map((i) => i.path),
        run.size,
        run.crop,
      );
      expect(again.images.map((i) => i.uint8)).toEqual(run.images.map((i) => i.uint8));
    }
  });

  it("photo-sized images and a synthetic world at 224 px: within 1/255 of PIL (measured: exact)", async () => {
    const images = await writeTestImages(join(tmp, "large"), true);
    await runDataMake("ueo", { out: join(tmp, "ueo"), count: "40", size: "96", progress: "none" });
    const world: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (p.endsWith(".png")) world.push(p);
      }
    };
    walk(join(tmp, "ueo"));
    const paths = [...images, ...world];
    for (const crop of ["floor", "round"] as const) {
      const diff = await compareWithPil(runPil(paths, 224, crop));
      console.log(
        `PIL parity at 224 px (${crop} crop): ${diff.images} images, ${diff.exact} exact, max |Δ| ${diff.max}, mean |Δ| ${diff.mean} (0–255 units)`,
      );
      expect(diff.max).toBeLessThanOrEqual(1);
      expect(diff.exact).toBe(diff.images);
    }
  });
});

describe("resize, crop and normalisation rules", () => {
  it("resizes the shorter side, truncating the longer as PIL/HF/torchvision do", () => {
    expect(shortestSideSize(640, 427, 224)).toEqual([335, 224]);
    expect(shortestSideSize(181, 353, 224)).toEqual([224, 436]);
    expect(shortestSideSize(224, 224, 224)).toEqual([224, 224]);
  });

  it("centre crop: floor (HF) and round half to even (torchvision / Python round)", () => {
    expect(centerOffset(335, 224, "floor")).toBe(55);
    expect(centerOffset(335, 224, "round")).toBe(56); // 55.5 → 56 (even)
    expect(centerOffset(229, 224, "round")).toBe(2); // 2.5 → 2 (even)
    expect(centerOffset(230, 224, "round")).toBe(3);
    expect(centerOffset(224, 224, "round")).toBe(0);
  });

  it("a constant image stays constant through resize, and normalises channel by channel", async () => {
    const src = rgbImage(7, 5, new Uint8Array(7 * 5 * 3).fill(200));
    const out = resizeBicubic(src, 13, 3);
    expect(new Set(out.data)).toEqual(new Set([200]));
    const png = await (await import("sharp"))
      .default(Buffer.from(src.data), { raw: { width: 7, height: 5, channels: 3 } })
      .png()
      .toBuffer();
    const px = await preprocessImage(png, { size: 4 });
    for (let c = 0; c < 3; c++) {
      const v = Math.fround((200 / 255 - CLIP_MEAN[c]!) / CLIP_STD[c]!);
      expect(px[c * 16]).toBe(v);
      expect(px[c * 16 + 15]).toBe(v);
    }
  });

  it("a batch is the images' arrays back to back, in order", async () => {
    const paths = fixture.runs[0]!.images.slice(0, 4).map((i) => i.path);
    const batch = await preprocessBatch(paths, { size: 32 });
    expect(batch.length).toBe(4 * 3 * 32 * 32);
    for (const [i, p] of paths.entries()) {
      const one = await preprocessImage(p, { size: 32 });
      expect(batch.subarray(i * one.length, (i + 1) * one.length)).toEqual(one);
    }
  });

  it("a missing or corrupt image fails with its path", async () => {
    const missing = join(tmp, "nope.png");
    await expect(preprocessImage(missing, { size: 8 })).rejects.toMatchObject({
      name: "ImageDecodeError",
      path: missing,
      reason: "missing",
    });
    await expect(preprocessBatch([fixture.runs[0]!.images[0]!.path, FIXTURE], { size: 8 })).rejects.toSatisfy(
      (e: unknown) => e instanceof ImageDecodeError && e.path === FIXTURE && e.reason === "corrupt",
    );
  });

  it("a batch with two unreadable images names the first in batch order and leaves no rejection unhandled", async () => {
    // The corrupt file comes first but fails later than the missing one (sharp reads it; the missing one
    // fails at open), so the error must follow batch order, not completion order.
    const missing = join(tmp, "gone.png");
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const good = fixture.runs[0]!.images[0]!.path;
      await expect(preprocessBatch([good, FIXTURE, good, missing], { size: 8 })).rejects.toSatisfy(
        (e: unknown) => e instanceof ImageDecodeError && e.path === FIXTURE && e.reason === "corrupt",
      );
      // Unhandled rejections are reported after the microtask queue drains; give them a few turns.
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });
});
