// stdlib's CLIP (clip.tiny: 32 px, patch 8, width 64, 2 layers, context 77) lowered from a pipeline's IR
// and run in the reference interpreter, against a hand-written PyTorch forward (bench/ref/clip_reference.py)
// on deterministic random weights: image features, text features and logits. The committed fixture holds
// the script's float64 and float32 outputs; where torch is importable the script is rerun on the same
// weights and must reproduce it. Then gradients with respect to adapter parameters (prompt context,
// affine LayerNorm parameters) against central finite differences.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileFile } from "../../compiler/compile.ts";
import { gradients } from "../../compiler/graph/autodiff.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Graph, Value, ValueId } from "../../compiler/graph/graph.ts";
import { verifyGraph } from "../../compiler/graph/verify.ts";
import type { PipelineIr } from "../../compiler/ir.ts";
import { lowerModel, modelForwardGraph } from "../../compiler/lower/model.ts";
import type { JsonValue } from "../../compiler/values.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";
import { expectClose, rng } from "../graph/helpers.ts";
import { type Dumped, torchUnavailable } from "../support/torch-fixture.ts";
import { checksum, EOT, randomWeight, tokenRows, weightsFor, writeTensors } from "./clip-weights.ts";

const compiled = compileFile("pipelines/quickstart/ueo.vlmp", { mode: "compile" });
const ir = compiled.ir as PipelineIr;
const B = 2;
const CONTEXT = 77;
// The quickstart's backbone call at CLIP's own text length (the bundled model reads 16 tokens).
const quickstart = ir.root.settings["backbone"] as { $call: string; args: Record<string, JsonValue> };
const backbone: JsonValue = { ...quickstart, args: { ...quickstart.args, context: CONTEXT } };
// Rows padded with 0 (the original tokenizer) and with the end token (some HF configs): pooling at the
// first end token makes both the same.
const LENGTHS = [3, 7, 0];
const PADS = [0, EOT, 0];
const CONFIG = {
  image: 32,
  patch: 8,
  layers: 2,
  heads: 4,
  text_layers: 2,
  text_heads: 4,
  eot: EOT,
  eps: 1e-5,
};

function pixels(): Tensor {
  const r = rng(31);
  const data = new Float64Array(B * 3 * 32 * 32);
  for (let i = 0; i < data.length; i++) data[i] = 4 * r() - 2;
  return { shape: [B, 3, 32, 32], data };
}

interface Fixture {
  checksum: [number, number];
  float64: Record<string, Dumped>;
  float32: Record<string, Dumped>;
}

const FIXTURE = join("test", "fixtures", "lower", "clip_forward_reference.json");

/** Lowers clip.tiny without adapters, feeds the weights and inputs, returns every site's value. */
function runForward(): {
  values: Map<string, Tensor>;
  weights: Map<string, Tensor>;
  ids: Tensor;
  px: Tensor;
} {
  const fwd = modelForwardGraph(ir, backbone, {
    dims: new Map([
      ["B", B],
      ["C", LENGTHS.length],
      ["P", 1],
    ]),
  });
  verifyGraph(fwd.graph);
  const weights = weightsFor(fwd.lowering.tree.backboneParams);
  const ids = tokenRows(5, LENGTHS, CONTEXT, PADS);
  const px = pixels();
  const feeds = new Map<ValueId, Tensor>();
  for (const p of fwd.lowering.params) if (p.value) feeds.set(p.value.id, weights.get(p.key)!);
  feeds.set(fwd.inputs.get("pixels")!.id, px);
  feeds.set(fwd.inputs.get("ids")!.id, { shape: [LENGTHS.length, 1, CONTEXT], data: ids.data });
  feeds.set(fwd.inputs.get("slots")!.id, {
    shape: [LENGTHS.length, 1, CONTEXT],
    data: new Float64Array(LENGTHS.length * CONTEXT),
  });
  const all = evaluate(fwd.graph, feeds);
  const values = new Map(fwd.graph.outputs.map((o) => [o.name, all.get(o.value)!] as const));
  return { values, weights, ids, px };
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function normalizeRows(d: Dumped): number[] {
  const [n, e] = d.shape as [number, number];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = d.data.slice(i * e, (i + 1) * e);
    const norm = Math.max(Math.hypot(...row), 1e-12);
    out.push(...row.map((x) => x / norm));
  }
  return out;
}

const torchReason = torchUnavailable("the CLIP reference rerun");

function runReference(weights: Map<string, Tensor>, ids: Tensor, px: Tensor): Fixture {
  const dir = mkdtempSync(join(tmpdir(), "vlmp-clip-ref-"));
  try {
    writeTensors(dir, CONFIG, new Map([...weights, ["pixels", px], ["ids", ids]]));
    const out = join(dir, "out.json");
    const run = spawnSync("/usr/bin/python3", ["bench/ref/clip_reference.py", dir, out], {
      encoding: "utf8",
    });
    if (run.status !== 0) throw new Error(`clip_reference.py failed: ${run.stderr}`);
    const result = JSON.parse(readFileSync(out, "utf8")) as Fixture;
    return { checksum: checksum(weights), float64: result.float64, float32: result.float32 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("clip.tiny forward against PyTorch", () => {
  const { values, weights, ids, px } = runForward();
  if (!existsSync(FIXTURE) && !torchReason) {
    writeFileSync(FIXTURE, `${JSON.stringify(runReference(weights, ids, px))}\n`);
  }
  const fixture = JSON.parse(readFileSync(FIXTURE, "utf8")) as Fixture;

  it("lowers with every checkpoint key of the HF layout", () => {
    const keys = [...weights.keys()];
    expect(keys).toContain("vision_model.embeddings.patch_embedding.weight");
    expect(keys).toContain("vision_model.encoder.layers.1.self_attn.q_proj.bias");
    expect(keys).toContain("text_model.encoder.layers.0.mlp.fc2.weight");
    expect(keys).toContain("text_model.final_layer_norm.bias");
    expect(keys).toContain("visual_projection.weight");
    expect(keys).toContain("logit_scale");
    expect(weights.get("vision_model.embeddings.position_embedding.weight")!.shape).toEqual([17, 64]);
    expect(keys.length).toBe(39 + 36 + 3);
  });

  it("uses the committed weights (generator unchanged)", () => {
    const [s, q] = checksum(weights);
    expect(s).toBeCloseTo(fixture.checksum[0], 6);
    expect(q).toBeCloseTo(fixture.checksum[1], 6);
  });

  const pairs: [string, string, (d: Dumped) => number[]][] = [
    ["image_features", "image_embeds", (d) => d.data],
    ["template_features", "text_embeds", (d) => d.data],
    ["text_features", "text_embeds", normalizeRows],
    ["logits", "logits_per_image", (d) => d.data],
  ];
  for (const [site, key, map] of pairs) {
    it(`${site} matches ${key} (float64 at 1e-9, float32 at 1e-4)`, () => {
      const got = values.get(site)!.data;
      const want64 = map(fixture.float64[key]!);
      const want32 = map(fixture.float32[key]!);
      expect(got.length).toBe(want64.length);
      const e64 = maxAbs(got, want64);
      const e32 = maxAbs(got, want32);
      console.log(
        `${site}: max |vlmp − torch f64| = ${e64.toExponential(2)}, |vlmp − torch f32| = ${e32.toExponential(2)}`,
      );
      expect(e64).toBeLessThan(1e-9);
      expect(e32).toBeLessThan(1e-4);
    });
  }

  it("pools at the first end token whatever the pad id", () => {
    // Row 0 is padded with 0, row 1 with the end token: the same ids up to the end, the same features.
    const ids2 = tokenRows(5, LENGTHS, CONTEXT, [EOT, 0, EOT]);
    const fwd = modelForwardGraph(ir, backbone, {
      dims: new Map([
        ["B", 1],
        ["C", 3],
        ["P", 1],
      ]),
    });
    const feeds = new Map<ValueId, Tensor>();
    for (const p of fwd.lowering.params) if (p.value) feeds.set(p.value.id, weights.get(p.key)!);
    feeds.set(fwd.inputs.get("pixels")!.id, { shape: [1, 3, 32, 32], data: px.data.slice(0, 3 * 32 * 32) });
    feeds.set(fwd.inputs.get("ids")!.id, { shape: [3, 1, CONTEXT], data: ids2.data });
    feeds.set(fwd.inputs.get("slots")!.id, { shape: [3, 1, CONTEXT], data: new Float64Array(3 * CONTEXT) });
    const out = fwd.graph.outputs.find((o) => o.name === "template_features")!;
    const again = evaluate(fwd.graph, feeds).get(out.value)!;
    expectClose(again.data, values.get("template_features")!.data, 1e-12);
  });

  it.skipIf(torchReason !== "")("the reference script reproduces the committed fixture", () => {
    const again = runReference(weights, ids, px);
    for (const dtype of ["float64", "float32"] as const) {
      for (const [key, t] of Object.entries(fixture[dtype])) {
        expect(again[dtype][key]!.shape).toEqual(t.shape);
        expectClose(again[dtype][key]!.data, t.data, dtype === "float64" ? 1e-12 : 1e-6);
      }
    }
  });
});

describe("gradients with respect to adapter parameters", () => {
  // ueo_quickstart's adapters: prompt(context: 4, init: "a photo of a") and affine(visual.layernorms).
  const C = 2;
  const b = new GraphBuilder();
  const px = b.input("pixels", [1, 3, 32, 32]);
  const idsIn = b.input("ids", [C, 1, CONTEXT], "i32");
  const slotsIn = b.input("slots", [C, 1, CONTEXT], "i32");
  const m = lowerModel(
    ir,
    backbone,
    b,
    new Map([
      ["pixels", px],
      ["ids", idsIn],
      ["slots", slotsIn],
    ]),
    { adapters: ir.root.adapters },
  );
  const r = rng(77);
  const weightR = b.input("R", m.output.shape);
  const loss = b.sum(b.mul(m.output, weightR));
  const forward = b.build();
  const trainable = m.params.filter((p) => p.trainable && p.value);
  const { graph, grads } = gradients(
    b.build(),
    loss.id,
    trainable.map((p) => p.value!.id),
  );
  verifyGraph(graph);

  // Rows: start, 4 context slots, 2 class words, end, then padding; slots 0..3 at positions 1..4.
  const ids = tokenRows(9, [6, 6], CONTEXT, [0, 0]);
  const slots = new Float64Array(C * CONTEXT).fill(4);
  for (let row = 0; row < C; row++) for (let k = 0; k < 4; k++) slots[row * CONTEXT + 1 + k] = k;
  const feeds = new Map<ValueId, Tensor>();
  const feedOf = new Map<string, Tensor>();
  for (const p of m.params) {
    if (!p.value) continue;
    const t = randomWeight(p.key, p.shape);
    feeds.set(p.value.id, t);
    feedOf.set(p.key, t);
  }
  feeds.set(px.id, { shape: [1, 3, 32, 32], data: pixels().data.slice(0, 3 * 32 * 32) });
  feeds.set(idsIn.id, { shape: [C, 1, CONTEXT], data: ids.data });
  feeds.set(slotsIn.id, { shape: [C, 1, CONTEXT], data: slots });
  feeds.set(weightR.id, {
    shape: [...m.output.shape],
    data: Float64Array.from({ length: m.output.shape.reduce((p, d) => p * d, 1) }, () => 2 * r() - 1),
  });

  it("makes the prompt context and the visual LayerNorms trainable, nothing else", () => {
    const keys = trainable.map((p) => p.key);
    expect(keys).toContain("adapters.prompt.ctx");
    expect(keys).toContain("vision_model.pre_layrnorm.weight");
    expect(keys).toContain("vision_model.encoder.layers.1.layer_norm2.bias");
    expect(keys).toContain("vision_model.post_layernorm.weight");
    expect(keys.length).toBe(1 + 2 * (2 + 2 * 2));
    expect(m.params.find((p) => p.key === "adapters.prompt.ctx")!.init).toEqual({
      kind: "words",
      args: { words: "a photo of a", count: 4, std: 0.02 },
    });
  });

  it("puts the prompt context at its slots of the text embeddings, the token embeddings elsewhere", () => {
    const emb = m.siteValue("text.embeddings")!;
    expect(emb.shape).toEqual([C, CONTEXT, 64]);
    const e = evaluate(forward, feeds).get(emb.id)!.data;
    const ctx = feedOf.get("adapters.prompt.ctx")!.data;
    const table = feedOf.get("text_model.embeddings.token_embedding.weight")!.data;
    for (let row = 0; row < C; row++) {
      for (let pos = 0; pos < 8; pos++) {
        const want =
          pos >= 1 && pos <= 4
            ? ctx.slice((pos - 1) * 64, pos * 64)
            : table.slice(ids.data[row * CONTEXT + pos]! * 64, (ids.data[row * CONTEXT + pos]! + 1) * 64);
        expectClose(e.slice((row * CONTEXT + pos) * 64, (row * CONTEXT + pos + 1) * 64), want, 0);
      }
    }
  });

  const lossAt = (g: Graph, f: Map<ValueId, Tensor>, v: Value) => evaluate(g, f).get(v.id)!.data[0]!;

  for (const [key, entries] of [
    ["adapters.prompt.ctx", [0, 255]],
    ["vision_model.pre_layrnorm.weight", [40]],
    ["vision_model.encoder.layers.0.layer_norm1.bias", [11]],
    ["vision_model.post_layernorm.bias", [63]],
  ] as const) {
    it(`d loss / d ${key} matches central differences`, () => {
      const p = trainable.find((q) => q.key === key)!;
      const values = evaluate(graph, feeds);
      const g = values.get(grads.get(p.value!.id)!)!.data;
      const base = feedOf.get(key)!;
      const h = 1e-5;
      for (const i of entries) {
        const at = (delta: number) => {
          const data = Float64Array.from(base.data);
          data[i]! += delta;
          return lossAt(forward, new Map([...feeds, [p.value!.id, { shape: base.shape, data }]]), loss);
        };
        const fd = (at(h) - at(-h)) / (2 * h);
        expect(Math.abs(g[i]! - fd)).toBeLessThan(1e-6 + 1e-5 * Math.abs(fd));
      }
    });
  }
});
