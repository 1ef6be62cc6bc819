// `makeTinyClip`: the real HF layout, exactly the keys `clip.tiny` declares (read by compiling a spec whose
// backbone is `clip.tiny` and walking the IR's model definitions: runtime/checkpoint/layout.ts), HF's
// shapes, loadable by the checkpoint loader, byte-identical for a seed; a plain-Python reader agrees.

import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileFile } from "../../compiler/compile.ts";
import {
  CheckpointError,
  compareWithLayout,
  loadClipCheckpoint,
} from "../../runtime/checkpoint/checkpoint.ts";
import { backboneLayout } from "../../runtime/checkpoint/layout.ts";
import { hfClipTensors, LOGIT_SCALE, makeTinyClip, TINY_DIMS } from "../../runtime/checkpoint/make-tiny.ts";
import { encodeSafetensors, Safetensors } from "../../runtime/checkpoint/safetensors.ts";

const root = mkdtempSync(path.join(tmpdir(), "vlmp-tiny-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dirA = path.join(root, "a");
const dirB = path.join(root, "b");
const dirOther = path.join(root, "other");

beforeAll(() => {
  makeTinyClip(dirA, 7);
  makeTinyClip(dirB, 7);
  makeTinyClip(dirOther, 8);
}, 30_000);

/** The layout `clip.tiny` declares, through the compiler: `pipeline p { backbone = clip.tiny(weights: DIR) }`. */
function tinyLayoutViaCompiler(weights: string): Map<string, number[]> {
  const text = `use clip\n\npipeline p {\n  backbone = clip.tiny(weights: "${weights}")\n}\n`;
  const result = compileFile(path.join(root, "p.vlmp"), { mode: "compile", text });
  expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return backboneLayout(result.ir!);
}

describe("make-tiny", () => {
  it("writes the HF layout's files", () => {
    for (const f of [
      "config.json",
      "model.safetensors",
      "vocab.json",
      "merges.txt",
      "tokenizer_config.json",
      "special_tokens_map.json",
      "preprocessor_config.json",
      "README.md",
    ]) {
      expect(existsSync(path.join(dirA, f)), f).toBe(true);
    }
    const config = JSON.parse(readFileSync(path.join(dirA, "config.json"), "utf8"));
    expect(config.model_type).toBe("clip");
    expect(config.projection_dim).toBe(32);
    expect(config.vision_config).toMatchObject({
      hidden_size: 64,
      num_hidden_layers: 2,
      patch_size: 8,
      image_size: 32,
    });
    expect(config.text_config).toMatchObject({ hidden_size: 64, num_attention_heads: 4, vocab_size: 49408 });
    const tokenizerConfig = JSON.parse(readFileSync(path.join(dirA, "tokenizer_config.json"), "utf8"));
    expect(tokenizerConfig.tokenizer_class).toBe("CLIPTokenizer");
    expect(readFileSync(path.join(dirA, "merges.txt"), "utf8").split("\n")[0]).toBe("#version: 0.2");
  });

  it("has exactly the keys clip.tiny declares, in HF's shapes", () => {
    const declared = tinyLayoutViaCompiler(dirA);
    const st = Safetensors.open(path.join(dirA, "model.safetensors"));
    expect([...st.tensors.keys()].sort()).toEqual([...declared.keys()].sort());
    expect(compareWithLayout(st.tensors, declared)).toEqual([]);
    const shape = (k: string) => st.info(k).shape;
    expect(shape("vision_model.embeddings.patch_embedding.weight")).toEqual([64, 3, 8, 8]);
    expect(shape("vision_model.embeddings.class_embedding")).toEqual([64]);
    expect(shape("vision_model.embeddings.position_embedding.weight")).toEqual([17, 64]);
    expect(shape("text_model.embeddings.token_embedding.weight")).toEqual([49408, 64]);
    expect(shape("text_model.embeddings.position_embedding.weight")).toEqual([77, 64]);
    expect(shape("text_model.encoder.layers.1.mlp.fc1.weight")).toEqual([256, 64]);
    expect(shape("visual_projection.weight")).toEqual([32, 64]);
    expect(shape("text_projection.weight")).toEqual([32, 64]);
    expect(shape("logit_scale")).toEqual([]); // 0-d, as HF stores it
    expect(st.read("logit_scale")[0]).toBeCloseTo(LOGIT_SCALE, 6);
    expect(st.metadata).toEqual({ format: "pt" });
    // Keys sorted, as HF's save_pretrained writes them.
    const keys = [...st.tensors.keys()];
    expect(keys).toEqual([...keys].sort());
    expect(hfClipTensors(TINY_DIMS)).toHaveLength(declared.size);
  });

  it("initialises as CLIP does: normal with small std, LayerNorm weights near 1", () => {
    const st = Safetensors.open(path.join(dirA, "model.safetensors"));
    const stats = (k: string) => {
      const v = st.read(k);
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
      return { mean, std };
    };
    const tok = stats("text_model.embeddings.token_embedding.weight");
    expect(Math.abs(tok.mean)).toBeLessThan(1e-3);
    expect(tok.std).toBeCloseTo(0.02, 3);
    const q = stats("vision_model.encoder.layers.0.self_attn.q_proj.weight");
    expect(q.std).toBeGreaterThan(0.05);
    expect(q.std).toBeLessThan(0.08); // 64^-0.5 · 4^-0.5 = 0.0625
    expect(stats("vision_model.pre_layrnorm.weight").mean).toBeCloseTo(1, 1);
  });

  it("loads back through the checkpoint loader (as clip.tiny and at its own sizes)", () => {
    const ckpt = loadClipCheckpoint(dirA, { model: "tiny" });
    expect(ckpt.config.vision.hiddenSize).toBe(64);
    expect(ckpt.tokenizer.encodeWithSpecials("a photo of a cat.")).toEqual([
      49406, 320, 1125, 539, 320, 2368, 269, 49407,
    ]);
    expect(ckpt.weights.read("visual_projection.weight")).toHaveLength(32 * 64);
    expect(loadClipCheckpoint(dirA).layout.size).toBe(ckpt.layout.size);
    expect(() => loadClipCheckpoint(dirA, { model: "vit_b32" })).toThrow(CheckpointError);
    expect(() => loadClipCheckpoint(dirA, { model: "vit_b32" })).toThrow(
      /clip\.vit_b32 declares \[768, 3, 32, 32\]/,
    );
  });

  it("same seed → identical bytes; another seed → other weights", () => {
    for (const f of ["config.json", "model.safetensors", "vocab.json", "merges.txt", "README.md"]) {
      if (f === "README.md") continue; // names the seed
      expect(readFileSync(path.join(dirA, f)).equals(readFileSync(path.join(dirB, f))), f).toBe(true);
    }
    expect(readFileSync(path.join(dirA, "README.md"), "utf8")).toContain("seed 7");
    const a = readFileSync(path.join(dirA, "model.safetensors"));
    const other = readFileSync(path.join(dirOther, "model.safetensors"));
    expect(a.byteLength).toBe(other.byteLength);
    expect(a.equals(other)).toBe(false);
  });
});

describe("checkpoint problems are reported by name", () => {
  const broken = path.join(root, "broken");
  beforeAll(() => {
    cpSync(dirOther, broken, { recursive: true });
    // Rewrite the weights: drop one tensor, add one, misshape one, keep the ignorable position_ids buffer.
    const st = Safetensors.open(path.join(broken, "model.safetensors"));
    const tensors = [...st.tensors.values()]
      .filter((t) => t.name !== "text_projection.weight")
      .map((t) => ({
        name: t.name,
        shape: t.name === "visual_projection.weight" ? [64, 32] : t.shape,
        data: st.read(t.name),
      }));
    tensors.push({ name: "vision_model.extra.weight", shape: [2], data: new Float32Array(2) });
    tensors.push({ name: "text_model.embeddings.position_ids", shape: [1, 77], data: new Float32Array(77) });
    writeFileSync(path.join(broken, "model.safetensors"), encodeSafetensors(tensors));
  });

  it("missing, unexpected and misshapen tensors, all in one error", () => {
    let error: CheckpointError | undefined;
    try {
      loadClipCheckpoint(broken, { model: "tiny" });
    } catch (e) {
      error = e as CheckpointError;
    }
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error!.file).toBe(path.join(broken, "model.safetensors"));
    expect(error!.problems).toEqual([
      'tensor "visual_projection.weight" has shape [64, 32], the model declares [32, 64]',
      'missing tensor "text_projection.weight" [32, 64]',
      'unexpected tensor "vision_model.extra.weight"',
    ]);
    expect(error!.message).toContain("model.safetensors");
  });

  it("a config that is not clip's, or missing files, name the file", () => {
    const noConfig = path.join(root, "empty");
    expect(() => loadClipCheckpoint(noConfig)).toThrow(/empty\/config\.json: cannot read/);
    const siglip = path.join(root, "siglip");
    cpSync(dirOther, siglip, { recursive: true });
    const config = JSON.parse(readFileSync(path.join(siglip, "config.json"), "utf8"));
    writeFileSync(path.join(siglip, "config.json"), JSON.stringify({ ...config, model_type: "siglip" }));
    expect(() => loadClipCheckpoint(siglip)).toThrow(/siglip\/config\.json: model_type: expected "clip"/);
    writeFileSync(path.join(siglip, "config.json"), JSON.stringify(config));
    rmSync(path.join(siglip, "merges.txt"));
    expect(() => loadClipCheckpoint(siglip)).toThrow(
      /no tokenizer files: expected vocab\.json and merges\.txt/,
    );
    cpSync(path.join(dirOther, "merges.txt"), path.join(siglip, "merges.txt"));
    rmSync(path.join(siglip, "model.safetensors"));
    expect(() => loadClipCheckpoint(siglip)).toThrow(/siglip\/model\.safetensors: cannot open/);
  });
});

describe("cross-check with plain Python (struct + json + numpy) and PyTorch", () => {
  const python = "/usr/bin/python3";
  const script = "bench/ref/safetensors_check.py";
  const havePython = existsSync(python);

  it("Python reads make-tiny's tensors to the same values", (ctx) => {
    if (!havePython) {
      console.log(`skipped: ${python} is absent`);
      ctx.skip();
    }
    const st = Safetensors.open(path.join(dirA, "model.safetensors"));
    const expected: Record<string, { shape: number[]; values: number[] }> = {};
    for (const k of [
      "logit_scale",
      "vision_model.embeddings.class_embedding",
      "text_model.encoder.layers.1.mlp.fc2.bias",
      "visual_projection.weight",
    ]) {
      expected[k] = { shape: st.info(k).shape, values: [...st.read(k)] };
    }
    const file = path.join(root, "expected.json");
    writeFileSync(file, JSON.stringify(expected));
    const out = execFileSync(python, [script, "check", path.join(dirA, "model.safetensors"), file], {
      encoding: "utf8",
    });
    if (out.startsWith("skip:")) {
      console.log(`skipped: ${out.trim()}`);
      ctx.skip();
    }
    const report = JSON.parse(out);
    expect(report).toMatchObject({ ok: true, checked: 4, metadata: { format: "pt" } });
    expect(report.tensors).toBe(st.tensors.size);
  });

  it("vlmp decodes f16, bf16, f64, i64 and bool tensors numpy and PyTorch wrote (unaligned)", (ctx) => {
    if (!havePython) {
      console.log(`skipped: ${python} is absent`);
      ctx.skip();
    }
    const file = path.join(root, "torch.safetensors");
    const out = execFileSync(python, [script, "write", file], { encoding: "utf8" });
    if (out.startsWith("skip:")) {
      console.log(`skipped: ${out.trim()}`);
      ctx.skip();
    }
    const expected = JSON.parse(out) as Record<string, { dtype: string; shape: number[]; values: number[] }>;
    const st = Safetensors.open(file);
    for (const [name, want] of Object.entries(expected)) {
      expect(st.info(name).dtype).toBe(want.dtype);
      expect(st.info(name).shape).toEqual(want.shape);
      expect([...st.read(name)], name).toEqual(want.values.map((v) => Math.fround(v)));
    }
  });
});
