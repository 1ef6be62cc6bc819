// `vlmp embed` end to end on a make-tiny checkpoint: the features it writes equal those of the whole CLIP
// forward lowered from the language and run in the reference interpreter directly (pixels from
// preprocessBatch, ids from the checkpoint's tokenizer); the WebGPU backend agrees within 1e-4 (skipped,
// with the reason printed, where no adapter exists).

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runEmbed } from "../../bin/commands/embed.ts";
import { UsageError } from "../../bin/usage-error.ts";
import type { ValueId } from "../../compiler/graph/graph.ts";
import { modelForwardGraph } from "../../compiler/lower/model.ts";
import type { JsonValue } from "../../compiler/values.ts";
import {
  compileBackboneIr,
  loadClipCheckpoint,
  makeTinyClip,
  Safetensors,
  TINY_DIMS,
} from "../../runtime/checkpoint/index.ts";
import { chooseArch, collectImagePaths, loadEmbedModel, readTextLines } from "../../runtime/embed/index.ts";
import { preprocessBatch } from "../../runtime/image/index.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";

const tmp = mkdtempSync(join(tmpdir(), "vlmp-embed-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const modelDir = join(tmp, "tiny");
makeTinyClip(modelDir, 3);
const IMAGES = "test/fixtures/image/images";
const textFile = join(tmp, "texts.txt");
writeFileSync(textFile, "a photo of a cat\na sketch of a small red star on stripes\n\n&amp; more  text\n");

function vlmpEmbed(args: string[]): { status: number | null; stderr: string } {
  const run = spawnSync(
    "node",
    ["bin/vlmp.js", "embed", "--model", modelDir, "--progress", "plain", ...args],
    {
      encoding: "utf8",
    },
  );
  return { status: run.status, stderr: run.stderr };
}

function read(
  file: string,
  key: string,
): { data: Float32Array; shape: number[]; metadata: Record<string, string> } {
  const st = Safetensors.open(file);
  return { data: st.read(key), shape: [...st.info(key).shape], metadata: st.metadata };
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Both towers in one call of the whole forward, fed directly: [N, E] image and text features. */
async function direct(
  paths: string[],
  texts: string[],
): Promise<{ image: Float64Array; text: Float64Array }> {
  const checkpoint = loadClipCheckpoint(modelDir, { model: "tiny" });
  const ir = compileBackboneIr(`clip.tiny(weights: ".")`);
  const call = ir.root.settings["backbone"] as JsonValue;
  const dims = new Map([
    ["B", paths.length],
    ["C", texts.length],
    ["P", 1],
  ]);
  const fwd = modelForwardGraph(ir, call, { dims });
  const feeds = new Map<ValueId, Tensor>();
  for (const p of fwd.lowering.params) {
    if (!p.value) continue;
    // logit_scale is 0-d in the file, [1] in the language.
    feeds.set(p.value.id, { shape: p.shape, data: Float64Array.from(checkpoint.weights.read(p.key)) });
  }
  const px = await preprocessBatch(paths, { size: 32 });
  feeds.set(fwd.inputs.get("pixels")!.id, { shape: [paths.length, 3, 32, 32], data: Float64Array.from(px) });
  const ids = checkpoint.tokenizer.tokenize(texts, { contextLength: 77, padId: 49407 });
  feeds.set(fwd.inputs.get("ids")!.id, { shape: [texts.length, 1, 77], data: Float64Array.from(ids) });
  feeds.set(fwd.inputs.get("slots")!.id, {
    shape: [texts.length, 1, 77],
    data: new Float64Array(texts.length * 77),
  });
  const out = evaluate(fwd.graph, feeds);
  const site = (name: string) => out.get(fwd.lowering.sites.get(name)!.id)!.data;
  return { image: site("image_features"), text: site("template_features") };
}

describe("vlmp embed", () => {
  const paths = collectImagePaths([IMAGES]);
  const texts = readTextLines(textFile);

  it("chooses clip.tiny by the config's dimensions and reads the tokenizer's pad id", () => {
    const model = loadEmbedModel(modelDir);
    expect(model.arch.name).toBe("tiny");
    expect(model.padId).toBe(49407);
    expect(chooseArch(model.checkpoint.config, "clip_model").call).toMatch(/^clip\.clip_model\(image: 32, /);
  });

  it("a tiny checkpoint of other sizes is clip.tiny called with them (16 tokens, patches of 4)", async () => {
    const sized = join(tmp, "tiny-sized");
    makeTinyClip(sized, 3, { ...TINY_DIMS, patchSize: 4, maxPositions: 16 });
    const model = loadEmbedModel(sized);
    expect(model.arch).toEqual({
      name: "tiny",
      call: 'clip.tiny(weights: ".", patch: 4, context: 16)',
      sizes: { patch: 4, context: 16 },
    });
    expect(model.context).toBe(16);
    expect(loadEmbedModel(sized, "tiny").arch.call).toBe(model.arch.call);
    expect(loadEmbedModel(modelDir).arch.call).toBe('clip.tiny(weights: ".")');
  });

  it("image and text features on the reference backend equal the lowered forward run directly", async () => {
    const img = vlmpEmbed([
      "--images",
      IMAGES,
      "--out",
      join(tmp, "img.safetensors"),
      "--backend",
      "reference",
      "--batch",
      "5",
    ]);
    expect(img.stderr).toMatch(/wrote image_features \[13, 32\]/);
    expect(img.status).toBe(0);
    const txt = vlmpEmbed([
      "--texts",
      textFile,
      "--out",
      join(tmp, "txt.safetensors"),
      "--backend",
      "reference",
      "--batch",
      "3",
    ]);
    expect(txt.status).toBe(0);
    const gotImage = read(join(tmp, "img.safetensors"), "image_features");
    const gotText = read(join(tmp, "txt.safetensors"), "text_features");
    expect(gotImage.shape).toEqual([13, 32]);
    expect(gotText.shape).toEqual([4, 32]);
    expect(JSON.parse(gotImage.metadata["paths"]!)).toEqual(paths);
    expect(JSON.parse(gotText.metadata["texts"]!)).toEqual(texts);
    expect(gotImage.metadata["arch"]).toBe("tiny");
    const want = await direct(paths, texts);
    expect(maxAbs(gotImage.data, want.image)).toBeLessThan(1e-5);
    expect(maxAbs(gotText.data, want.text)).toBeLessThan(1e-5);
  });

  it("the WebGPU backend agrees with the reference within 1e-4", () => {
    const img = vlmpEmbed([
      "--images",
      IMAGES,
      "--out",
      join(tmp, "img-gpu.safetensors"),
      "--backend",
      "webgpu",
      "--batch",
      "8",
    ]);
    if (img.status !== 0 && /no WebGPU adapter/.test(img.stderr)) {
      console.warn(`skipping the WebGPU comparison: ${img.stderr.trim()}`);
      return;
    }
    expect(img.status, img.stderr).toBe(0);
    const txt = vlmpEmbed([
      "--texts",
      textFile,
      "--out",
      join(tmp, "txt-gpu.safetensors"),
      "--backend",
      "webgpu",
    ]);
    expect(txt.status, txt.stderr).toBe(0);
    const ref = read(join(tmp, "img.safetensors"), "image_features").data;
    expect(maxAbs(read(join(tmp, "img-gpu.safetensors"), "image_features").data, ref)).toBeLessThan(1e-4);
    const refText = read(join(tmp, "txt.safetensors"), "text_features").data;
    expect(maxAbs(read(join(tmp, "txt-gpu.safetensors"), "text_features").data, refText)).toBeLessThan(1e-4);
  });

  it("usage errors: neither or both inputs, a missing path; a corrupt image names its path", async () => {
    const out = join(tmp, "x.safetensors");
    await expect(runEmbed({ model: modelDir, out })).rejects.toThrow(UsageError);
    await expect(runEmbed({ model: modelDir, out, images: [IMAGES], texts: textFile })).rejects.toThrow(
      UsageError,
    );
    await expect(runEmbed({ model: modelDir, out, images: [join(tmp, "nope")] })).rejects.toThrow(
      /no such file/,
    );
    const bad = vlmpEmbed(["--images", "package.json", "--out", out, "--backend", "reference"]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/package\.json: cannot decode image/);
  });
});
