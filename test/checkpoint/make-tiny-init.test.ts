// `makeTinyClip(..., "clip")` / `vlmp model make-tiny --init clip`: LayerNorm weights exactly 1 and biases 0,
// every linear bias 0, logit_scale ln(1/0.07) in f32; every normal-initialised tensor is the `--init test`
// tensor of the same seed bit for bit (each tensor draws from its own stream, seeded by seed and key, with the
// same std in both modes); deterministic and loadable as clip.tiny; the model card says `--init clip`; the CLI
// writes the same bytes and rejects other kinds with exit status 2.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadClipCheckpoint } from "../../runtime/checkpoint/checkpoint.ts";
import {
  hfClipTensors,
  INITIAL_LOGIT_SCALE,
  LOGIT_SCALE,
  makeTinyClip,
  TINY_DIMS,
} from "../../runtime/checkpoint/make-tiny.ts";
import { Safetensors } from "../../runtime/checkpoint/safetensors.ts";
import { vlmp } from "../support/vlmp.ts";

const root = mkdtempSync(path.join(tmpdir(), "vlmp-tiny-init-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const testDir = path.join(root, "test");
const clipDir = path.join(root, "clip");
const cliDir = path.join(root, "cli");
const SEED = 11;

const LAYER_NORM = /(layer_norm\d?|layrnorm|layernorm)\.weight$/;
const isLayerNormWeight = (k: string) => LAYER_NORM.test(k);

beforeAll(() => {
  makeTinyClip(testDir, SEED);
  makeTinyClip(clipDir, SEED, TINY_DIMS, "clip");
}, 30_000);

describe("make-tiny --init clip", () => {
  it("LayerNorm weights exactly 1, every bias exactly 0, logit_scale ln(1/0.07) in f32", () => {
    const st = Safetensors.open(path.join(clipDir, "model.safetensors"));
    const keys = [...st.tensors.keys()];
    const norms = keys.filter(isLayerNormWeight);
    // pre_layrnorm, post_layernorm, final_layer_norm and two per encoder layer in each tower.
    expect(norms).toHaveLength(3 + 2 * (TINY_DIMS.visionLayers + TINY_DIMS.textLayers));
    for (const k of norms)
      expect(
        st.read(k).every((x) => x === 1),
        k,
      ).toBe(true);
    const biases = keys.filter((k) => k.endsWith(".bias"));
    // LayerNorm biases plus q, k, v, out, fc1, fc2 per encoder layer.
    expect(biases).toHaveLength(norms.length + 6 * (TINY_DIMS.visionLayers + TINY_DIMS.textLayers));
    for (const k of biases)
      expect(
        st.read(k).every((x) => x === 0 && !Object.is(x, -0)),
        k,
      ).toBe(true);
    expect(st.info("logit_scale").shape).toEqual([]);
    expect(st.info("logit_scale").dtype).toBe("F32");
    expect(st.read("logit_scale")[0]).toBe(Math.fround(Math.log(1 / 0.07)));
    expect(INITIAL_LOGIT_SCALE).toBeCloseTo(2.65926, 5);
    // Every other tensor is a random normal: no constant tensor besides the ones above.
    for (const k of keys.filter(
      (k) => !isLayerNormWeight(k) && !k.endsWith(".bias") && k !== "logit_scale",
    )) {
      const v = st.read(k);
      expect(new Set(v).size, k).toBeGreaterThan(v.length / 2);
    }
  });

  it("the test init differs exactly there: random LayerNorms and biases, logit_scale ln(100)", () => {
    const st = Safetensors.open(path.join(testDir, "model.safetensors"));
    for (const k of [...st.tensors.keys()].filter((k) => isLayerNormWeight(k) || k.endsWith(".bias"))) {
      expect(new Set(st.read(k)).size, k).toBeGreaterThan(1);
    }
    expect(st.read("logit_scale")[0]).toBe(Math.fround(LOGIT_SCALE));
  });

  it("every other tensor is the test init's, bit for bit (same per-key streams, same stds)", () => {
    const a = Safetensors.open(path.join(testDir, "model.safetensors"));
    const b = Safetensors.open(path.join(clipDir, "model.safetensors"));
    expect([...b.tensors.keys()]).toEqual([...a.tensors.keys()]);
    const testSpecs = new Map(hfClipTensors(TINY_DIMS, "test").map((s) => [s.key, s]));
    let compared = 0;
    for (const spec of hfClipTensors(TINY_DIMS, "clip")) {
      const key = spec.key;
      expect(b.info(key).shape, key).toEqual(a.info(key).shape);
      if (spec.init.kind !== "normal") {
        // Only LayerNorms, biases and logit_scale are constants in the clip init.
        expect(isLayerNormWeight(key) || key.endsWith(".bias") || key === "logit_scale", key).toBe(true);
        continue;
      }
      expect(testSpecs.get(key)!.init, key).toEqual(spec.init);
      const same = Buffer.from(b.read(key).buffer).equals(Buffer.from(a.read(key).buffer));
      expect(same, key).toBe(true);
      compared++;
    }
    // Token and text position embeddings, vision class/patch/position embeddings, q/k/v/out and fc1/fc2 of
    // the 4 encoder layers, the two projections.
    expect(compared).toBe(2 + 3 + 4 * 6 + 2);
    // CLIP's stds where they are HF's: q/k/v width^-0.5·(2·layers)^-0.5, out width^-0.5, token embeddings 0.02.
    const std = (key: string) => {
      const init = testSpecs.get(key)!.init;
      return init.kind === "normal" ? init.std : Number.NaN;
    };
    const w = TINY_DIMS.visionWidth;
    expect(std("vision_model.encoder.layers.1.self_attn.q_proj.weight")).toBeCloseTo(
      w ** -0.5 * 4 ** -0.5,
      12,
    );
    expect(std("vision_model.encoder.layers.1.self_attn.out_proj.weight")).toBeCloseTo(w ** -0.5, 12);
    expect(std("text_model.embeddings.token_embedding.weight")).toBe(0.02);
    expect(std("visual_projection.weight")).toBeCloseTo(w ** -0.5, 12);
  });

  it("is deterministic and loads as clip.tiny", () => {
    const again = path.join(root, "clip-again");
    makeTinyClip(again, SEED, TINY_DIMS, "clip");
    const bytes = readFileSync(path.join(again, "model.safetensors"));
    expect(bytes.equals(readFileSync(path.join(clipDir, "model.safetensors")))).toBe(true);
    const ckpt = loadClipCheckpoint(clipDir, { model: "tiny" });
    expect(ckpt.layout.size).toBe(78);
    expect(ckpt.weights.read("vision_model.post_layernorm.weight").every((x) => x === 1)).toBe(true);
  });

  it("the model card names --init clip and HF's initialisation; the test card does not", () => {
    const card = readFileSync(path.join(clipDir, "README.md"), "utf8");
    expect(card).toContain(`vlmp model make-tiny --seed ${SEED} --init clip`);
    expect(card).toContain("logit_scale ln(1/0.07)");
    expect(card).toContain("LayerNorms 1 and 0");
    const testCard = readFileSync(path.join(testDir, "README.md"), "utf8");
    expect(testCard).not.toContain("--init");
    expect(testCard).toContain("logit_scale ln(100)");
  });
});

describe("vlmp model make-tiny --init", () => {
  it("--init clip writes the same bytes as makeTinyClip(..., 'clip')", async () => {
    const made = await vlmp("model", "make-tiny", "--out", cliDir, "--seed", String(SEED), "--init", "clip");
    expect(made.code).toBe(0);
    expect(made.stderr).toContain(`seed ${SEED}`);
    const bytes = readFileSync(path.join(cliDir, "model.safetensors"));
    expect(bytes.equals(readFileSync(path.join(clipDir, "model.safetensors")))).toBe(true);
    expect(readFileSync(path.join(cliDir, "README.md"), "utf8")).toContain("--init clip");
  }, 30_000);

  it("rejects --init foo with exit code 2 and writes nothing", async () => {
    const out = path.join(root, "foo");
    const bad = await vlmp("model", "make-tiny", "--out", out, "--init", "foo");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('vlmp: --init must be test or clip, got "foo"\n');
    expect(() => readFileSync(path.join(out, "model.safetensors"))).toThrow(/ENOENT/);
  }, 30_000);
});
