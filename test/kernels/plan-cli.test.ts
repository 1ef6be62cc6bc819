// `vlmp compile FILE --emit plan|wgsl [--model]`: the kernel plan of the objective (with its
// gradients) and of the backbone's forward with adapters, printed without a device.

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

async function vlmp(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ["bin/vlmp.js", ...args], {
    env: { ...process.env, NO_COLOR: "1" },
    maxBuffer: 1 << 26,
  });
  return stdout;
}

describe("vlmp compile --emit plan|wgsl", () => {
  it("prints the kernel plan of pipelines/ueo.vlmp's objective with its gradients", async () => {
    const out = await vlmp("compile", "pipelines/ueo.vlmp", "--emit", "plan", "--dims", "N=8,C=5");
    expect(out).toContain("# with gradients of loss with respect to logits");
    expect(out).toMatch(/# kernel plan: \d+ kernels computing \d+ graph ops/);
    expect(out).toMatch(/# arena: peak \d+ bytes/);
    expect(out).toMatch(/ {2}input "logits" %\d+ f32\[8,5\] @\d+\+160/);
    expect(out).toMatch(/#0 softmax_rows\[8x5\] = softmax#\d+ {2}wg\(16,1,1\) dispatch\(1,1,1\)/);
    expect(out).toMatch(/outputs: .*loss=%\d+/);
    expect(out).toMatch(/grad:logits=%\d+/);
  });

  it("prints every shader of the plan", async () => {
    const out = await vlmp("compile", "pipelines/ueo.vlmp", "--emit", "wgsl", "--dims", "N=8,C=5");
    const kernels = Number(/^\/\/ (\d+) kernels/m.exec(out)![1]);
    expect(kernels).toBeGreaterThan(3);
    expect(out.match(/^\/\/ ---- #\d+ /gm)).toHaveLength(kernels);
    expect(out).toContain("@compute @workgroup_size(");
  });

  it("prints the plan of the quickstart's backbone forward with its adapters (--model)", async () => {
    const out = await vlmp(
      "compile",
      "pipelines/quickstart/ueo.vlmp",
      "--emit",
      "plan",
      "--model",
      "--dims",
      "B=2,C=3",
    );
    expect(out).toContain("# adapters: adapters.prompt(");
    expect(out).toMatch(/param "adapters\.prompt\.ctx" %\d+ f32\[4,64\] @\d+\+1024/);
    // The patch embedding's weight is read transposed where it lies: no copy of it each run.
    expect(out).toMatch(/matmul_register\[2x16x192x64;tB\] = matmul/);
    expect(out).not.toMatch(/copy\[192x64\] = permute/);
    expect(out).toMatch(/outputs: image_features=%\d+, .*logits=%\d+/);
    const peak = Number(/# arena: peak (\d+) bytes/.exec(out)![1]);
    const unshared = Number(/, (\d+) bytes without reuse/.exec(out)![1]);
    expect(peak).toBeLessThan(unshared);
  });
});
