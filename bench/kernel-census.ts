// The distinct WGSL modules a vlmp command compiles (the pipeline cache's key), by kernel family: the count
// behind the cold first run on lavapipe, where each module is compiled at its first dispatch. Runs the CLI
// in this process with the pipeline cache watched; the census goes to stderr when the command exits.
//
//   npx tsx bench/kernel-census.ts run pipelines/quickstart/ueo.vlmp

import { PipelineCache } from "../runtime/device/pipelines.ts";
import { hashSource, type Kernel } from "../runtime/kernels/kernel.ts";

const seen = new Map<string, string>();
const get = PipelineCache.prototype.get;
PipelineCache.prototype.get = function (this: PipelineCache, kernel: Kernel) {
  seen.set(hashSource(kernel.code), kernel.name);
  return get.call(this, kernel);
};

process.on("exit", () => {
  const families = new Map<string, number>();
  for (const name of seen.values()) {
    const family = name.split(/[[(]/)[0]!;
    families.set(family, (families.get(family) ?? 0) + 1);
  }
  const rows = [...families].sort((a, b) => b[1] - a[1]).map(([f, n]) => `  ${String(n).padStart(4)} ${f}`);
  process.stderr.write(`kernel census: ${seen.size} distinct WGSL modules\n${rows.join("\n")}\n`);
});

await import("../bin/cli.ts");
