// Lowering models with adapters beyond the parity case: hooks at repeated sites (deep visual prompts get
// the repetition index), hooks at feature sites against hand-computed values, adapter parameter shapes
// from the hooks' dimensions, initialisers as graphs, typed errors, and `vlmp compile --emit graph --model`.

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { compileFile } from "../../compiler/compile.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Value, ValueId } from "../../compiler/graph/graph.ts";
import { verifyGraph } from "../../compiler/graph/verify.ts";
import type { PipelineIr } from "../../compiler/ir.ts";
import { LoweringError } from "../../compiler/lower/errors.ts";
import { initGraph } from "../../compiler/lower/init.ts";
import { lowerModel, modelForwardGraph } from "../../compiler/lower/model.ts";
import type { JsonValue } from "../../compiler/values.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";
import { expectClose, rng } from "../graph/helpers.ts";
import { randomWeight, tokenRows } from "./clip-weights.ts";

const SPEC = `use clip
use adapters.{visual_prompts, clip_adapter, text_residual, prompt, affine}

pipeline lowering_adapters {
  backbone = clip.tiny(weights: "models/tiny-clip")
  adapt visual_prompts(tokens: 2, depth: 2)
  adapt clip_adapter(reduction: 4, ratio: 0.2)
  adapt text_residual(ratio: 0.3)
}

pipeline bad_unfreeze {
  backbone = clip.tiny(weights: "models/tiny-clip")
  adapt affine(sites: visual.pooled)
}

pipeline prompts_only {
  backbone = clip.tiny(weights: "models/tiny-clip")
  adapt prompt(context: 2, init: "a photo", class_position: end)
}
`;

function compile(pipeline: string): PipelineIr {
  const r = compileFile("test/lower/lowering-adapters.vlmp", { mode: "compile", text: SPEC, pipeline });
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0 || !r.ir) throw new Error(errors.map((d) => d.message).join("; "));
  return r.ir;
}

const ir = compile("lowering_adapters");
const backbone = ir.root.settings["backbone"] as JsonValue;
const [B, C, CONTEXT] = [2, 3, 77];

function matmulT(
  a: ArrayLike<number>,
  rows: number,
  inner: number,
  w: ArrayLike<number>,
  out: number,
): number[] {
  // a [rows, inner] · wᵀ with w [out, inner]
  const y: number[] = [];
  for (let i = 0; i < rows; i++)
    for (let o = 0; o < out; o++) {
      let s = 0;
      for (let k = 0; k < inner; k++) s += a[i * inner + k]! * w[o * inner + k]!;
      y.push(s);
    }
  return y;
}

describe("adapters on clip.tiny", () => {
  const b = new GraphBuilder();
  const inputs = new Map<string, Value>([
    ["pixels", b.input("pixels", [B, 3, 32, 32])],
    ["ids", b.input("ids", [C, 1, CONTEXT], "i32")],
    ["slots", b.input("slots", [C, 1, CONTEXT], "i32")],
  ]);
  const m = lowerModel(ir, backbone, b, inputs, { adapters: ir.root.adapters });
  const sites = [
    "visual.tokens",
    "visual.blocks[1].tokens",
    "visual.pooled",
    "image_features",
    "template_features",
  ];
  for (const s of sites) b.output(s, m.siteValue(s)!);
  const graph = b.build();
  verifyGraph(graph);
  const r = rng(3);
  const feeds = new Map<ValueId, Tensor>();
  const fed = new Map<string, Tensor>();
  for (const p of m.params) {
    if (!p.value) continue;
    const t = randomWeight(p.key, p.shape);
    feeds.set(p.value.id, t);
    fed.set(p.key, t);
  }
  feeds.set(inputs.get("pixels")!.id, {
    shape: [B, 3, 32, 32],
    data: Float64Array.from({ length: B * 3 * 32 * 32 }, () => 2 * r() - 1),
  });
  feeds.set(inputs.get("ids")!.id, {
    shape: [C, 1, CONTEXT],
    data: tokenRows(4, [2, 3, 4], CONTEXT, [0, 0, 0]).data,
  });
  feeds.set(inputs.get("slots")!.id, { shape: [C, 1, CONTEXT], data: new Float64Array(C * CONTEXT) });
  const values = evaluate(graph, feeds);
  const at = (s: string) => values.get(m.siteValue(s)!.id)!;

  it("sizes adapter parameters from the hooks' dimensions", () => {
    const shapes = Object.fromEntries(m.params.filter((p) => p.trainable).map((p) => [p.key, p.shape]));
    expect(shapes).toEqual({
      "adapters.visual_prompts.prompts": [2, 2, 64],
      "adapters.clip_adapter.w1": [8, 32],
      "adapters.clip_adapter.w2": [32, 8],
      "adapters.text_residual.weight": [32, 32],
      "adapters.text_residual.bias": [32],
    });
  });

  it("appends visual prompts after the patches and replaces them at block 1 (repetition index)", () => {
    expect(m.siteValue("visual.tokens")!.shape).toEqual([B, 19, 64]);
    const prompts = fed.get("adapters.visual_prompts.prompts")!.data;
    const tokens = at("visual.tokens").data;
    const block1 = at("visual.blocks[1].tokens").data;
    for (let i = 0; i < B; i++) {
      // visual.tokens rows 17, 18 = prompts[0]; block 1's input rows 17, 18 = prompts[1].
      expectClose(tokens.slice((i * 19 + 17) * 64, (i * 19 + 19) * 64), prompts.slice(0, 128), 0);
      expectClose(block1.slice((i * 19 + 17) * 64, (i * 19 + 19) * 64), prompts.slice(128, 256), 0);
    }
  });

  it("mixes the CLIP-Adapter into the image features: 0.2·A(f) + 0.8·f", () => {
    const pooled = at("visual.pooled").data;
    const f = matmulT(pooled, B, 64, fed.get("visual_projection.weight")!.data, 32);
    const h = matmulT(f, B, 32, fed.get("adapters.clip_adapter.w1")!.data, 8).map((x) => Math.max(0, x));
    const a = matmulT(h, B, 8, fed.get("adapters.clip_adapter.w2")!.data, 32).map((x) => Math.max(0, x));
    // The hook's `let a` is provided as clip_adapter_a.
    expectClose(values.get(m.hookValues.get("clip_adapter_a")!.id)!.data, a, 1e-12);
    expectClose(
      at("image_features").data,
      f.map((x, i) => 0.2 * a[i]! + 0.8 * x),
      1e-12,
    );
  });

  it("rewrites template features with the residual text adapter", () => {
    // Lowered again without the text adapter: t; with it: 0.3·(t W + b) + 0.7·t.
    const plain = new GraphBuilder();
    const ins = new Map<string, Value>([
      ["pixels", plain.input("pixels", [B, 3, 32, 32])],
      ["ids", plain.input("ids", [C, 1, CONTEXT], "i32")],
      ["slots", plain.input("slots", [C, 1, CONTEXT], "i32")],
    ]);
    const m0 = lowerModel(ir, backbone, plain, ins, { adapters: [] });
    const f0 = new Map<ValueId, Tensor>();
    for (const p of m0.params) if (p.value) f0.set(p.value.id, fed.get(p.key)!);
    for (const [k, v] of ins) f0.set(v.id, feeds.get(inputs.get(k)!.id)!);
    const t = evaluate(plain.build(), f0).get(m0.sites.get("template_features")!.id)!.data;
    const w = fed.get("adapters.text_residual.weight")!.data;
    const bias = fed.get("adapters.text_residual.bias")!.data;
    const want: number[] = [];
    for (let c = 0; c < C; c++)
      for (let j = 0; j < 32; j++) {
        let s = bias[j]!;
        for (let k = 0; k < 32; k++) s += t[c * 32 + k]! * w[k * 32 + j]!;
        want.push(0.3 * s + 0.7 * t[c * 32 + j]!);
      }
    expectClose(at("template_features").data, want, 1e-12);
  });
});

describe("initialisers", () => {
  const pir = compile("prompts_only");
  const fwd = modelForwardGraph(pir, pir.root.settings["backbone"] as JsonValue, {
    adapters: pir.root.adapters,
    dims: new Map([
      ["B", 1],
      ["C", 1],
      ["P", 1],
    ]),
  });
  const params = fwd.lowering.params.filter((p) => p.key.startsWith("adapters."));
  const token = fwd.lowering.params.find((p) => p.key === "text_model.embeddings.token_embedding.weight")!;

  it("reads the token embeddings of the init words", () => {
    expect(params.map((p) => [p.key, p.init])).toEqual([
      ["adapters.prompt.ctx", { kind: "words", args: { words: "a photo", count: 2, std: 0.02 } }],
    ]);
    const init = initGraph(params, 1, { tokenEmbedding: token });
    const table = randomWeight(token.key, token.shape);
    const values = evaluate(
      init.graph,
      new Map([
        [init.params.get(token.key)!.id, table],
        [
          init.inputs.get("adapters.prompt.ctx:ids")!.id,
          { shape: [2], data: Float64Array.from([320, 1125]) },
        ],
      ]),
    );
    const ctx = values.get(init.values.get("adapters.prompt.ctx")!.id)!;
    expectClose(ctx.data.slice(0, 64), table.data.slice(320 * 64, 321 * 64), 0);
    expectClose(ctx.data.slice(64), table.data.slice(1125 * 64, 1126 * 64), 0);
  });

  it("draws random initialisers deterministically per parameter and seed", () => {
    const mk = (
      key: string,
      shape: number[],
      kind: string,
      args: Record<string, number | string | boolean>,
    ) => ({
      key,
      name: key,
      shape,
      trainable: true,
      init: { kind, args },
      owner: "adapters.x",
    });
    const ps = [
      mk("a.normal", [64, 64], "normal", { std: 0.02 }),
      mk("a.identity", [4, 4], "identity", {}),
      mk("a.zeros", [3], "zeros", {}),
      mk("a.fill", [1], "fill", { value: 2.5 }),
      mk("a.linear", [100, 50], "torch_linear", { fan_in: 50 }),
      mk("a.xavier", [96, 32], "xavier_uniform", {}),
      mk("a.ctx", [16, 8], "words", { words: "", count: 16, std: 0.02 }),
    ];
    const run = (seed: number) => {
      const g = initGraph(ps, seed);
      const v = evaluate(g.graph, new Map());
      return new Map([...g.values].map(([k, x]) => [k, v.get(x.id)!.data] as const));
    };
    const [a, again, other] = [run(7), run(7), run(8)];
    const normal = a.get("a.normal")!;
    const mean = normal.reduce((s, x) => s + x, 0) / normal.length;
    const std = Math.sqrt(normal.reduce((s, x) => s + (x - mean) ** 2, 0) / normal.length);
    expect(Math.abs(mean)).toBeLessThan(0.002);
    expect(Math.abs(std - 0.02)).toBeLessThan(0.002);
    expect([...a.get("a.identity")!]).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    expect([...a.get("a.zeros")!]).toEqual([0, 0, 0]);
    expect([...a.get("a.fill")!]).toEqual([2.5]);
    expect(Math.max(...a.get("a.linear")!.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(50));
    expect(Math.max(...a.get("a.xavier")!.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / 128));
    expect([...again.get("a.normal")!]).toEqual([...normal]);
    expect([...other.get("a.normal")!]).not.toEqual([...normal]);
    // Each parameter has its own stream: the words-less context is not the normal's prefix.
    expect([...a.get("a.ctx")!.slice(0, 8)]).not.toEqual([...normal.slice(0, 8)]);
  });
});

describe("typed errors", () => {
  const expectError = (f: () => unknown, code: string, text: RegExp) => {
    try {
      f();
    } catch (error) {
      expect(error).toBeInstanceOf(LoweringError);
      expect((error as LoweringError).code).toBe(code);
      expect((error as LoweringError).message).toMatch(text);
      return;
    }
    expect.fail("no error");
  };

  it("a hook at a site the backbone lacks", () => {
    const adapters = [
      { $call: "adapters.clip_adapter", definition: "adapter", args: { reduction: 4, ratio: 0.2 } },
    ];
    const broken = structuredClone(ir);
    const hook = (
      broken.definitions["adapters.clip_adapter"]!.items as { item: string; target?: JsonValue }[]
    ).find((i) => i.item === "hook")!;
    hook.target = { expr: "member", object: { expr: "name", name: "visual" }, property: "nowhere" };
    expectError(
      () =>
        modelForwardGraph(broken, backbone, {
          adapters,
          dims: new Map([
            ["B", 1],
            ["C", 1],
            ["P", 1],
          ]),
        }),
      "V4104",
      /has no site, submodule or parameter 'nowhere'/,
    );
  });

  it("unfreezing a value site", () => {
    const bad = compile("bad_unfreeze");
    expectError(
      () =>
        modelForwardGraph(bad, bad.root.settings["backbone"] as JsonValue, {
          adapters: bad.root.adapters,
          dims: new Map([
            ["B", 1],
            ["C", 1],
            ["P", 1],
          ]),
        }),
      "V4103",
      /'pooled' is a value site/,
    );
  });

  it("a forward without sizes for its dimensions", () => {
    expectError(
      () => modelForwardGraph(ir, backbone, { dims: new Map([["B", 1]]) }),
      "V4105",
      /needs sizes for C, P/,
    );
  });
});

describe("vlmp compile --emit graph --model", () => {
  it("prints the forward of the quickstart's backbone with its adapters", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        "bin/vlmp.js",
        "compile",
        "pipelines/quickstart/ueo.vlmp",
        "--emit",
        "graph",
        "--model",
        "--dims",
        "B=2,C=3",
      ],
      { env: { ...process.env, NO_COLOR: "1" }, maxBuffer: 1 << 26 },
    );
    expect(stdout).toContain("# inputs: pixels f32[2,3,32,32], ids i32[3,1,16], slots i32[3,1,16]");
    expect(stdout).toContain("#   trainable adapters.prompt.ctx [4, 64] = words(");
    expect(stdout).toMatch(
      /outputs: image_features=%\d+, template_features=%\d+, text_features=%\d+, cosines=%\d+, logits=%\d+/,
    );
    expect(stdout).toMatch(
      /param "text_model\.encoder\.layers\.1\.self_attn\.q_proj\.weight" \{trainable=false\}/,
    );
  });
});
