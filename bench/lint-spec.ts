// Benchmark: lint and compile a generated 1,000-line spec (target: lint under 50 ms on a 2-core machine).

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { compileFile } from "../compiler/compile.ts";

/** A spec of about `lines` lines: many small losses and fns, and a pipeline that uses some of them. */
export function generatedSpec(lines: number): string {
  const out = ["use clip", "use adapters.{prompt, affine}", ""];
  let i = 0;
  while (out.length < lines - 40) {
    out.push(
      `fn scale_${i}(x: [N, C], w: [C]) -> [N, C] {`,
      "  let s = softmax(x, axis: 1)",
      "  let t = s * w[new, :] + 1e-3",
      "  return t / sum(t, axis: 1, keepdims: true)",
      "}",
      "",
      `loss weighted_${i}(logits: [N, C], weights: [N]) {`,
      `  let p = scale_${i}(logits, ones(shape: [C]))`,
      "  let h = entropy(p, axis: 1)",
      "  return sum(weights * h) / sum(weights) - entropy(mean(p, axis: 0), axis: 0)",
      "}",
      "",
    );
    i++;
  }
  out.push(
    "pipeline generated {",
    '  backbone = clip.vit_b16(weights: "models/clip-vit-base-patch16")',
    "  seed = 1",
    "  data {",
    '    classes = lines("data/classes.txt")',
    '    train = folder("data/train", classes: classes, labels: hidden)',
    '    test = folder("data/test", classes: classes)',
    "  }",
    '  adapt prompt(context: 4, init: "a photo of a")',
    "  adapt affine(sites: visual.layernorms)",
    "  train {",
    "    objective = weighted_0(logits, index * 0 + 1)",
    "    optimizer = sgd(lr: 1e-4, momentum: 0.9)",
    "    schedule = cosine(every: step)",
    "    epochs = 10",
    "    batch = 64",
    "  }",
    "  evaluate test {",
    "    metrics = [accuracy(), per_class_accuracy()]",
    "  }",
    "}",
  );
  return `${out.join("\n")}\n`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export function benchLint(runs = 21): {
  lines: number;
  firstMs: number;
  lintMs: number;
  compileMs: number;
  errors: number;
} {
  const dir = mkdtempSync(path.join(tmpdir(), "vlmp-bench-"));
  const file = path.join(dir, "generated.vlmp");
  const text = generatedSpec(1000);
  writeFileSync(file, text);
  const time = (mode: "lint" | "compile") => {
    const t0 = performance.now();
    const result = compileFile(file, { mode });
    return {
      ms: performance.now() - t0,
      errors: result.diagnostics.filter((d) => d.severity === "error").length,
    };
  };
  const first = time("lint"); // the first run in a process: stdlib parse and JIT warm-up included
  for (let i = 0; i < 5; i++) time("lint");
  const lint = Array.from({ length: runs }, () => time("lint"));
  const compile = Array.from({ length: runs }, () => time("compile"));
  return {
    lines: text.split("\n").length - 1,
    firstMs: first.ms,
    lintMs: median(lint.map((r) => r.ms)),
    compileMs: median(compile.map((r) => r.ms)),
    errors: lint[0]!.errors,
  };
}
