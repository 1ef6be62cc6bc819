// `npm run bench`: every benchmark, one line each. Kernel benchmarks report ratios to the PyTorch
// reference measured in the same run; compiler benchmarks report absolute times against their targets.

import { benchLint } from "./lint-spec.ts";

const lint = benchLint();
if (lint.errors > 0)
  throw new Error(`the generated spec has ${lint.errors} errors: the benchmark is invalid`);
console.log(
  `lint ${lint.lines}-line spec: ${lint.lintMs.toFixed(1)} ms median, warm (target < 50 ms); ` +
    `first in a fresh process ${lint.firstMs.toFixed(0)} ms · compile to IR: ${lint.compileMs.toFixed(1)} ms`,
);

const { benchKernels } = await import("./kernels.ts");
await benchKernels();
// A process holding a Dawn device may not exit by itself.
process.exit(0);
