// The lowered UEO loss (stdlib, through a compiled pipeline's IR) and its gradient with respect to the
// logits: against central finite differences, and against PyTorch (float64 fixture written by
// bench/ref/ueo_loss_reference.py; regenerated and compared where torch is importable).

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileFile } from "../../compiler/compile.ts";
import { gradients } from "../../compiler/graph/autodiff.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { verifyGraph } from "../../compiler/graph/verify.ts";
import type { PipelineIr } from "../../compiler/ir.ts";
import { type Argument, lowerFunction } from "../../compiler/lower/function.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import { type Tensor, tensor } from "../../runtime/reference/tensor.ts";
import { expectClose, rng } from "../graph/helpers.ts";
import { expectSameFixture, torchUnavailable } from "../support/torch-fixture.ts";
import { ueo } from "./reference-losses.ts";

const compiled = compileFile("pipelines/ueo.vlmp", { mode: "compile", pipeline: "ueo" });
const ir = compiled.ir as PipelineIr;

/** Lowers losses.ueo on logits/w, differentiates w.r.t. logits, returns loss and gradient. */
function ueoWithGradient(logits: Tensor, w: Tensor, lambda: number): { loss: number; grad: Float64Array } {
  const b = new GraphBuilder();
  const l = b.input("logits", logits.shape);
  const wv = b.input("w", w.shape);
  const loss = lowerFunction(
    ir,
    "losses.ueo",
    new Map<string, Argument>([
      ["logits", l],
      ["w", wv],
      ["lambda", lambda],
    ]),
    b,
  );
  const { graph, grads } = gradients(b.build(), loss.id, [l.id]);
  verifyGraph(graph);
  const values = evaluate(
    graph,
    new Map([
      [l.id, logits],
      [wv.id, w],
    ]),
  );
  return { loss: values.get(loss.id)!.data[0]!, grad: values.get(grads.get(l.id)!)!.data };
}

describe("UEO gradient with respect to the logits", () => {
  it("compiles the pipeline's IR", () => {
    expect(compiled.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(ir.definitions["losses.ueo"]?.kind).toBe("loss");
  });

  it("matches central finite differences", () => {
    const r = rng(7);
    for (const [n, c, lambda] of [
      [5, 4, 1],
      [7, 3, 0.5],
    ] as const) {
      const logits = tensor(
        [n, c],
        Array.from({ length: n * c }, () => 6 * r() - 3),
      );
      const w = tensor(
        [n],
        Array.from({ length: n }, () => 0.05 + r()),
      );
      const { loss, grad } = ueoWithGradient(logits, w, lambda);
      expect(loss).toBeCloseTo(ueo([...logits.data], [...w.data], n, c, lambda), 12);
      const h = 1e-6;
      const fd = Array.from({ length: n * c }, (_, i) => {
        const at = (delta: number) => {
          const x = Float64Array.from(logits.data);
          x[i]! += delta;
          return ueo([...x], [...w.data], n, c, lambda);
        };
        return (at(h) - at(-h)) / (2 * h);
      });
      expectClose(grad, fd, 1e-7, 1e-6);
    }
  });

  it("gives w no gradient (it is detached)", () => {
    const b = new GraphBuilder();
    const l = b.input("logits", [3, 2]);
    const wv = b.input("w", [3]);
    const loss = lowerFunction(
      ir,
      "losses.ueo",
      new Map<string, Argument>([
        ["logits", l],
        ["w", wv],
      ]),
      b,
    );
    const { graph, grads } = gradients(b.build(), loss.id, [wv.id]);
    const zero = graph.nodes.find((nd) => nd.id === grads.get(wv.id));
    expect(zero?.op).toBe("full");
  });
});

interface Dumped {
  shape: number[];
  data: number[];
}
interface Fixture {
  cases: Record<
    string,
    {
      inputs: Record<string, Dumped>;
      attrs: Record<string, number>;
      outputs: Record<string, Dumped>;
      grads: Record<string, Dumped>;
    }
  >;
}

const FIXTURE = join("test", "fixtures", "lower", "ueo_loss_reference.json");
const fixture = JSON.parse(readFileSync(FIXTURE, "utf8")) as Fixture;

describe("UEO against PyTorch (float64 fixture)", () => {
  for (const [name, c] of Object.entries(fixture.cases)) {
    it(`${name}: loss and gradient`, () => {
      const logits = tensor(c.inputs["logits"]!.shape, c.inputs["logits"]!.data);
      const w = tensor(c.inputs["w"]!.shape, c.inputs["w"]!.data);
      const { loss, grad } = ueoWithGradient(logits, w, c.attrs["lambda"]!);
      expectClose([loss], c.outputs["loss"]!.data, 1e-9, 1e-9);
      expectClose(grad, c.grads["logits"]!.data, 1e-9, 1e-9);
    });
  }
});

const torchReason = torchUnavailable("UEO fixture regeneration check", ["torch"]);

describe("UEO fixture generator", () => {
  it.skipIf(torchReason !== "")("reproduces the committed fixture", () => {
    const dir = mkdtempSync(join(tmpdir(), "vlmp-ueo-ref-"));
    try {
      const run = spawnSync("/usr/bin/python3", ["bench/ref/ueo_loss_reference.py", dir], {
        encoding: "utf8",
      });
      expect(run.status, run.stderr).toBe(0);
      const again = JSON.parse(readFileSync(join(dir, "ueo_loss_reference.json"), "utf8")) as Fixture;
      expectSameFixture(again, fixture);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
