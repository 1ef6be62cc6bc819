// `npm run bench`: every benchmark, one line each. Kernel benchmarks report ratios to the PyTorch
// reference measured in the same run; compiler benchmarks report absolute times against their targets.
// VLMP_BENCH=lint,kernels,clip,ueo (any subset, comma-separated) runs only those; unset runs all. The CLIP
// tower benchmark (bench/clip.ts) takes its own VLMP_BENCH_CLIP_* settings and the UEO training step
// benchmark (bench/ueo-step.ts) its VLMP_BENCH_UEO_* ones, described there.

import { benchLint } from "./lint-spec.ts";

const only = process.env["VLMP_BENCH"]?.split(",").map((s) => s.trim());
const enabled = (name: string) => !only || only.includes(name);

if (enabled("lint")) {
  const lint = benchLint();
  if (lint.errors > 0)
    throw new Error(`the generated spec has ${lint.errors} errors: the benchmark is invalid`);
  console.log(
    `lint ${lint.lines}-line spec: ${lint.lintMs.toFixed(1)} ms median, warm (target < 50 ms); ` +
      `first in a fresh process ${lint.firstMs.toFixed(0)} ms · compile to IR: ${lint.compileMs.toFixed(1)} ms`,
  );
}

if (enabled("kernels")) {
  const { benchKernels } = await import("./kernels.ts");
  await benchKernels();
}
if (enabled("clip")) {
  const { benchClip } = await import("./clip.ts");
  await benchClip();
}
if (enabled("ueo")) {
  const { benchUeoStep } = await import("./ueo-step.ts");
  await benchUeoStep();
}
// A process holding a Dawn device may not exit by itself.
process.exit(0);
