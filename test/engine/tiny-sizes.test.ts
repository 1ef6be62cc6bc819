// `clip.tiny(weights, patch: N, context: N)`: the tiny configuration at other patch sizes and text lengths
// (`vlmp model make-tiny --patch N --context N`). The checkpoint is checked against the call's sizes, the
// prompts are tokenised to the checkpoint's context, and cutting a 77-token checkpoint's position table to 16
// rows leaves the logits of prompts that fit unchanged (causal attention and pooling at the end token see
// only the first positions). A call whose sizes disagree with the checkpoint fails naming the tensor.

import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeTinyClip, TINY_DIMS } from "../../runtime/checkpoint/make-tiny.ts";
import { Safetensors, writeSafetensors } from "../../runtime/checkpoint/safetensors.ts";
import { RunError } from "../../runtime/engine/errors.ts";
import { runPipeline } from "../../runtime/engine/run.ts";
import { vlmp } from "../support/vlmp.ts";
import { compileForRun, tinyWorkspace } from "../support/workspace.ts";

const workspace = tinyWorkspace("vlmp-tiny-sizes-", { count: 40, size: 32 });
const { dir, model, world } = workspace;
const cut = () => join(dir, "tiny-16");
const patch4 = () => join(dir, "tiny-p4");
const POSITIONS = "text_model.embeddings.position_embedding.weight";

beforeAll(() => {
  // The workspace's checkpoint with its position table cut to the first 16 rows.
  mkdirSync(cut());
  for (const f of readdirSync(model)) copyFileSync(join(model, f), join(cut(), f));
  const config = JSON.parse(readFileSync(join(model, "config.json"), "utf8"));
  config.text_config.max_position_embeddings = 16;
  writeFileSync(join(cut(), "config.json"), JSON.stringify(config));
  const st = Safetensors.open(join(model, "model.safetensors"));
  const tensors = [...st.tensors.keys()].map((name) => {
    const data = st.read(name);
    const shape = [...st.info(name).shape];
    if (name !== POSITIONS) return { name, shape, data };
    return { name, shape: [16, shape[1]!], data: data.slice(0, 16 * shape[1]!) };
  });
  writeSafetensors(join(cut(), "model.safetensors"), tensors, { format: "pt" });
  makeTinyClip(patch4(), 0, { ...TINY_DIMS, patchSize: 4, maxPositions: 16 });
});

function zeroShot(name: string, backbone: string): string {
  const file = join(dir, `${name}.vlmp`);
  const root = JSON.stringify(world);
  writeFileSync(
    file,
    `use clip
use data.{synthetic, synthetic_classes}
use metrics.accuracy

pipeline ${name} {
  backbone = ${backbone}
  data {
    classes = synthetic_classes(world: ueo, root: ${root}, part: known)
    templates = ["a photo of a {}.", "a sketch of a {}."]
    test = synthetic(world: ueo, root: ${root}, part: "test")
  }
  evaluate test {
    batch = 8
    metrics = [accuracy()]
  }
}
`,
  );
  return file;
}

async function logits(name: string, backbone: string): Promise<Float64Array> {
  const { ir, hash } = compileForRun(zeroShot(name, backbone));
  const result = await runPipeline(ir, {
    specText: "",
    irHash: hash,
    backend: "reference",
    runsRoot: join(dir, "runs"),
  });
  return Float64Array.from(result.blocks[0]!.output.data);
}

describe("clip.tiny's patch and context", () => {
  it("a checkpoint cut to 16 tokens gives the 77-token logits for prompts that fit", async () => {
    const full = await logits("full", `clip.tiny(weights: ${JSON.stringify(model)})`);
    const short = await logits("short", `clip.tiny(weights: ${JSON.stringify(cut())}, context: 16)`);
    expect(short.length).toBe(full.length);
    expect(Array.from(short)).toEqual(Array.from(full));
  });

  it("patches of 4 with 16 tokens run end to end", async () => {
    const out = await logits("p4", `clip.tiny(weights: ${JSON.stringify(patch4())}, patch: 4, context: 16)`);
    expect(out.length).toBeGreaterThan(0);
    expect(out.every(Number.isFinite)).toBe(true);
  });

  it("a call whose context disagrees with the checkpoint names the position table", async () => {
    const { ir, hash } = compileForRun(zeroShot("wrong", `clip.tiny(weights: ${JSON.stringify(cut())})`));
    const run = runPipeline(ir, {
      specText: "",
      irHash: hash,
      backend: "reference",
      runsRoot: join(dir, "r"),
    });
    await expect(run).rejects.toThrow(RunError);
    await expect(run).rejects.toThrow(
      /position_embedding\.weight.*\[16, 64\].*clip\.tiny declares \[77, 64\]/,
    );
  });
});

describe("vlmp model make-tiny --patch --context", () => {
  it("writes the sizes into config.json and the model card", async () => {
    const out = join(dir, "cli");
    const r = await vlmp("model", "make-tiny", "--out", out, "--patch", "4", "--context", "16");
    expect(r.code).toBe(0);
    const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    expect(config.vision_config.patch_size).toBe(4);
    expect(config.text_config.max_position_embeddings).toBe(16);
    expect(readFileSync(join(out, "README.md"), "utf8")).toContain(
      "clip.tiny(weights: …, patch: 4, context: 16)",
    );
  });

  it.each([
    [["--patch", "5"], /--patch must divide the image size 32, got 5/],
    [["--patch", "0"], /--patch must be a positive integer, got "0"/],
    [["--context", "2"], /--context must be at least 3 tokens, got 2/],
    [["--context", "x"], /--context must be a positive integer, got "x"/],
  ])("rejects %j with exit status 2", async (flags, message) => {
    const r = await vlmp("model", "make-tiny", "--out", join(dir, "bad"), ...flags);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
