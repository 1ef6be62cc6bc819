// Forward values and gradients of softmax cross-entropy, layernorm and a pre-LN causal attention
// block against PyTorch (float64), from the fixture bench/ref/graph_reference.py wrote.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { gradients } from "../../compiler/graph/autodiff.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { crossEntropy, layerNorm } from "../../compiler/graph/composites.ts";
import type { Value, ValueId } from "../../compiler/graph/graph.ts";
import { multiHeadAttention } from "../../compiler/graph/layers.ts";
import { verifyGraph } from "../../compiler/graph/verify.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import { type Tensor, tensor } from "../../runtime/reference/tensor.ts";
import { expectClose } from "../graph/helpers.ts";
import { expectSameFixture, torchUnavailable } from "../support/torch-fixture.ts";

interface Dumped {
  shape: number[];
  data: number[];
}
interface Case {
  inputs: Record<string, Dumped>;
  attrs: Record<string, number>;
  outputs: Record<string, Dumped>;
  grads: Record<string, Dumped>;
}
interface Fixture {
  cases: Record<string, Case>;
}

const FIXTURE = join("test", "fixtures", "graph", "graph_reference.json");
const fixture = JSON.parse(readFileSync(FIXTURE, "utf8")) as Fixture;
const TOL = 1e-6;

/** Builds a case's graph with `build`, differentiates, evaluates and compares with PyTorch. */
function check(
  c: Case,
  build: (b: GraphBuilder, v: Record<string, Value>) => { outputs: Record<string, Value>; loss: Value },
  trainable: readonly string[],
  dtypes: Record<string, "i32"> = {},
): void {
  const b = new GraphBuilder();
  const v: Record<string, Value> = {};
  const feeds = new Map<ValueId, Tensor>();
  for (const [name, t] of Object.entries(c.inputs)) {
    v[name] = trainable.includes(name)
      ? b.param(name, t.shape)
      : b.input(name, t.shape, dtypes[name] ?? "f32");
    feeds.set(v[name].id, tensor(t.shape, t.data));
  }
  const { outputs, loss } = build(b, v);
  const { graph, grads } = gradients(b.build(), loss.id);
  verifyGraph(graph);
  const values = evaluate(graph, feeds);
  for (const [name, want] of Object.entries(c.outputs)) {
    expect(values.get(outputs[name]!.id)!.shape).toEqual(want.shape);
    expectClose(values.get(outputs[name]!.id)!.data, want.data, TOL, TOL);
  }
  for (const [name, want] of Object.entries(c.grads)) {
    expectClose(values.get(grads.get(v[name]!.id)!)!.data, want.data, TOL, TOL);
  }
}

describe("parity with PyTorch (float64 fixtures)", () => {
  it("softmax cross-entropy with label smoothing", () => {
    const c = fixture.cases["softmax_cross_entropy"]!;
    check(
      c,
      (b, v) => {
        const loss = crossEntropy(b, v["logits"]!, v["labels"]!, {
          labelSmoothing: c.attrs["label_smoothing"]!,
        });
        return { outputs: { loss }, loss };
      },
      ["logits"],
      { labels: "i32" },
    );
  });

  it("layernorm", () => {
    const c = fixture.cases["layernorm"]!;
    check(
      c,
      (b, v) => {
        const y = layerNorm(b, v["x"]!, v["weight"]!, v["bias"]!, c.attrs["eps"]!);
        return { outputs: { y }, loss: b.sum(b.mul(y, v["w"]!)) };
      },
      ["x", "weight", "bias"],
    );
  });

  it("pre-LN causal multi-head attention block", () => {
    const c = fixture.cases["attention_block"]!;
    const names = [
      "x",
      "ln_weight",
      "ln_bias",
      "q_weight",
      "k_weight",
      "v_weight",
      "q_bias",
      "k_bias",
      "v_bias",
    ];
    check(
      c,
      (b, v) => {
        const h = layerNorm(b, v["x"]!, v["ln_weight"]!, v["ln_bias"]!, c.attrs["eps"]!);
        const lin = (p: string) => ({ weight: v[`${p}_weight`]!, bias: v[`${p}_bias`]! });
        const attn = multiHeadAttention(
          b,
          h,
          h,
          { q: lin("q"), k: lin("k"), v: lin("v"), out: lin("out") },
          c.attrs["heads"]!,
          {
            causal: true,
          },
        );
        const y = b.add(v["x"]!, attn);
        return { outputs: { y }, loss: b.sum(b.mul(y, v["w"]!)) };
      },
      [...names, "out_weight", "out_bias"],
    );
  });
});

const torchReason = torchUnavailable("fixture regeneration check", ["torch"]);

describe("fixture generator", () => {
  it.skipIf(torchReason !== "")("reproduces the committed fixture", () => {
    const dir = mkdtempSync(join(tmpdir(), "vlmp-graph-ref-"));
    try {
      const run = spawnSync("/usr/bin/python3", ["bench/ref/graph_reference.py", dir], { encoding: "utf8" });
      expect(run.status, run.stderr).toBe(0);
      const again = JSON.parse(readFileSync(join(dir, "graph_reference.json"), "utf8")) as Fixture;
      expectSameFixture(again, fixture);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
