// `vlmp model export RUN_DIR --out DIR` on a real (one-step) UEO training run of the tiny CLIP on the
// reference interpreter: the exported folder loads as clip.tiny; the tensors the run trained (the visual
// LayerNorms of UEO's affine adapter) hold the checkpoint's values (f32: rounded to f32; f16: within f16
// rounding), of the last epoch by default or of `--epoch N`; every other tensor is the base checkpoint's; the
// companion files are copied; README.md names the pipeline, the IR hash, the epoch and the metrics (and those
// of `--evaluation` runs); the prompt context (an adapter parameter) is reported as not exported. Errors
// (an epoch without a checkpoint, a folder that is not a run, as the run or as an `--evaluation`) are one line
// with exit status 1, usage errors (an unknown --dtype, a missing --notes file) exit 2; none leaves anything
// behind.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadClipCheckpoint } from "../../runtime/checkpoint/checkpoint.ts";
import { Safetensors } from "../../runtime/checkpoint/safetensors.ts";
import { referenceBackend } from "../../runtime/engine/backend.ts";
import { readCheckpoint, type TrainCheckpoint } from "../../runtime/engine/checkpoint.ts";
import { runTraining } from "../../runtime/engine/train.ts";
import { type Outcome, vlmp } from "../support/vlmp.ts";
import { compileForRun, tinyWorkspace, writeUeoSpec } from "../support/workspace.ts";

const workspace = tinyWorkspace("vlmp-export-", { count: 24, size: 32 });
const { dir } = workspace;

const COMPANIONS = [
  "config.json",
  "vocab.json",
  "merges.txt",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "preprocessor_config.json",
];

let runDir = "";
let hash = "";
let pipeline = "";
let last: TrainCheckpoint;
let first: TrainCheckpoint;
let base: Safetensors;
const outcomes: Record<string, Outcome> = {};
const out = (name: string) => join(dir, "exported", name);

beforeAll(async () => {
  const file = writeUeoSpec(
    workspace,
    "export_me",
    `    optimizer = sgd(lr: 0.5, groups: [group(prompt, lr: 0.05), group(affine, lr: 0.5)])
    schedule = constant()
    epochs = 1
    batch = 64
    shuffle = false`,
  );
  const compiled = compileForRun(file);
  hash = compiled.hash;
  pipeline = compiled.ir.pipeline;
  const r = await runTraining(compiled.ir, {
    specText: readFileSync(file, "utf8"),
    irHash: hash,
    runsRoot: join(dir, "runs"),
    backendInstance: referenceBackend(),
  });
  runDir = r.dir;
  first = readCheckpoint(join(runDir, "checkpoints", "epoch-0000.safetensors"));
  last = readCheckpoint(join(runDir, "checkpoints", "epoch-0001.safetensors"));
  base = Safetensors.open(join(workspace.model, "model.safetensors"));
  // One CLI call at a time: the machine may be busy.
  outcomes["f32"] = await vlmp(
    "model",
    "export",
    runDir,
    "--out",
    out("f32"),
    "--evaluation",
    runDir,
    "--reproduce",
    "vlmp run export_me.vlmp",
  );
  outcomes["f16"] = await vlmp("model", "export", runDir, "--out", out("f16"), "--dtype", "f16");
  outcomes["epoch0"] = await vlmp("model", "export", runDir, "--out", out("epoch0"), "--epoch", "0");
  outcomes["epoch99"] = await vlmp("model", "export", runDir, "--out", out("epoch99"), "--epoch", "99");
  outcomes["notRun"] = await vlmp("model", "export", workspace.model, "--out", out("not-run"));
  outcomes["badEvaluation"] = await vlmp(
    "model",
    "export",
    runDir,
    "--out",
    out("bad-evaluation"),
    "--evaluation",
    workspace.world,
  );
  outcomes["badDtype"] = await vlmp("model", "export", runDir, "--out", out("bad-dtype"), "--dtype", "bf16");
  outcomes["noNotes"] = await vlmp(
    "model",
    "export",
    runDir,
    "--out",
    out("no-notes"),
    "--notes",
    join(dir, "no-such-notes.md"),
  );
}, 240_000);

/** The run's trained backbone tensors (those the base checkpoint holds) and its adapter parameters. */
const trainedKeys = () => [...last.params.keys()].filter((k) => base.tensors.has(k));
const adapterKeys = () => [...last.params.keys()].filter((k) => !base.tensors.has(k));

describe("vlmp model export", () => {
  it("the run trained the visual LayerNorms and a prompt context", () => {
    expect(last.epoch).toBe(1);
    expect(last.step).toBe(1);
    const trained = trainedKeys();
    expect(trained.length).toBeGreaterThan(0);
    for (const k of trained)
      expect(k).toMatch(/^vision_model\..*(layer_norm\d|layrnorm|layernorm)\.(weight|bias)$/);
    // 2 per encoder layer and pre/post, weight and bias each.
    expect(trained).toHaveLength(2 * (2 * 2 + 2));
    expect(adapterKeys()).toHaveLength(1);
    // The step moved them (else the comparisons below could not tell the run from the base).
    const moved = trained.filter((k) => {
      const b = base.read(k);
      return last.params.get(k)!.some((x, i) => Math.fround(x) !== b[i]);
    });
    expect(moved.length).toBeGreaterThan(trained.length / 2);
  });

  it("f32: loads as clip.tiny; trained tensors = the last checkpoint's, others = the base's, bit for bit", () => {
    const o = outcomes["f32"]!;
    expect(o.code).toBe(0);
    const ckpt = loadClipCheckpoint(out("f32"), { model: "tiny" });
    expect(ckpt.layout.size).toBe(78);
    const st = ckpt.weights;
    expect([...st.tensors.keys()].sort()).toEqual([...base.tensors.keys()].sort());
    const trained = new Set(trainedKeys());
    for (const [k, info] of st.tensors) {
      expect(info.dtype, k).toBe("F32");
      expect(info.shape, k).toEqual(base.info(k).shape);
      const got = st.read(k);
      const want = trained.has(k) ? Float32Array.from(last.params.get(k)!) : base.read(k);
      expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer)), k).toBe(true);
    }
    expect(o.stderr).toContain(`(${trained.size} trained tensors, f32)`);
  });

  it("f16: stored as F16, within f16 rounding of the checkpoint's (trained) and the base's (others)", () => {
    expect(outcomes["f16"]!.code).toBe(0);
    const st = loadClipCheckpoint(out("f16"), { model: "tiny" }).weights;
    const trained = new Set(trainedKeys());
    let worst = 0;
    for (const [k, info] of st.tensors) {
      expect(info.dtype, k).toBe("F16");
      const got = st.read(k);
      const want = trained.has(k) ? last.params.get(k)! : base.read(k);
      expect(got.length, k).toBe(want.length);
      for (let i = 0; i < got.length; i++) {
        // Half an f16 ulp (relative 2^-11) for normals; 2^-25 absolute below f16's smallest normal.
        const err = Math.abs(got[i]! - want[i]!);
        const bound = Math.max(Math.abs(want[i]!) * 2 ** -11, 2 ** -25);
        worst = Math.max(worst, err / bound);
      }
    }
    expect(worst).toBeLessThanOrEqual(1);
    expect(worst).toBeGreaterThan(0); // really rounded
    // The f16 file is about half the f32 one.
    const size = (d: string) => readFileSync(join(d, "model.safetensors")).length;
    expect(size(out("f16"))).toBeLessThan(0.55 * size(out("f32")));
  });

  it("--epoch 0 exports the checkpoint before training: the base's values", () => {
    expect(outcomes["epoch0"]!.code).toBe(0);
    expect(first.epoch).toBe(0);
    const st = Safetensors.open(join(out("epoch0"), "model.safetensors"));
    for (const k of trainedKeys()) {
      expect(Buffer.from(st.read(k).buffer).equals(Buffer.from(base.read(k).buffer)), k).toBe(true);
    }
    expect(readFileSync(join(out("epoch0"), "README.md"), "utf8")).toContain("at epoch 0 (step 0)");
  });

  it("copies the base checkpoint's companion files and writes a model card", () => {
    const files = readdirSync(out("f32")).sort();
    expect(files).toEqual([...COMPANIONS, "README.md", "model.safetensors", "vlmp-spec.vlmp"].sort());
    for (const f of COMPANIONS) {
      expect(readFileSync(join(out("f32"), f)).equals(readFileSync(join(workspace.model, f))), f).toBe(true);
      expect(existsSync(join(out("f16"), f)), f).toBe(true);
    }
    // No staging folder is left beside the outputs.
    expect(readdirSync(join(dir, "exported")).filter((f) => f.includes(".partial-"))).toEqual([]);
  });

  it("README.md names the pipeline, the IR hash, the epoch, the metrics and the evaluation runs", () => {
    const card = readFileSync(join(out("f32"), "README.md"), "utf8");
    expect(card).toMatch(/^---\nlicense: mit\nlibrary_name: transformers\n/);
    expect(card).toContain(`# ${pipeline}: exported by vlmp`);
    expect(card).toContain(`pipeline \`${pipeline}\``);
    expect(card).toContain(`IR hash \`${hash}\``);
    expect(card).toContain(`The backbone of the run \`${runDir}\``);
    expect(card).toContain(`at epoch 1 (step 1): ${trainedKeys().length} trained tensors, stored as f32`);
    expect(card).toContain("## After training");
    const summary = JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8")) as {
      after: Record<string, number | null>;
    };
    const metrics = Object.keys(summary.after);
    expect(metrics.length).toBeGreaterThan(0);
    for (const m of metrics)
      expect(card).toMatch(new RegExp(`\\| ${m.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\| `));
    expect(card).toContain(`## Evaluation: ${pipeline}`);
    expect(card).toContain("vlmp run export_me.vlmp");
    const f16Card = readFileSync(join(out("f16"), "README.md"), "utf8");
    expect(f16Card).toContain("stored as f16");
    expect(f16Card).not.toContain("## Evaluation");
  });

  it("reports the prompt context (an adapter parameter) as not exported", () => {
    const [context] = adapterKeys();
    for (const o of [outcomes["f32"]!, outcomes["f16"]!]) {
      expect(o.stderr).toContain(`not exported (adapter parameters, not the backbone's): ${context}\n`);
      expect(o.stdout).toBe("");
    }
    const st = Safetensors.open(join(out("f32"), "model.safetensors"));
    expect(st.tensors.has(context!)).toBe(false);
  });

  it("--epoch 99: exit 1, one line naming the run and the epoch, nothing written", () => {
    const o = outcomes["epoch99"]!;
    expect(o.code).toBe(1);
    expect(o.stderr).toBe(`vlmp: error: ${runDir} holds no checkpoint of epoch 99\n`);
    expect(existsSync(out("epoch99"))).toBe(false);
  });

  it("a folder that is not a run: exit 1, one line", () => {
    const o = outcomes["notRun"]!;
    expect(o.code).toBe(1);
    expect(o.stderr).toBe(
      `vlmp: error: ${workspace.model} is not a run directory (no ir.json or summary.json)\n`,
    );
    expect(existsSync(out("not-run"))).toBe(false);
  });

  it("--dtype bf16: exit 2, one line saying which dtypes exist, nothing written", () => {
    const o = outcomes["badDtype"]!;
    expect(o.code).toBe(2);
    expect(o.stderr).toContain('--dtype must be f32 or f16, got "bf16"');
    expect(existsSync(out("bad-dtype"))).toBe(false);
  });

  it("--notes naming a missing file: exit 2, one line naming it, nothing written", () => {
    const o = outcomes["noNotes"]!;
    expect(o.code).toBe(2);
    expect(o.stderr).toContain(`--notes: no such file ${JSON.stringify(join(dir, "no-such-notes.md"))}`);
    expect(existsSync(out("no-notes"))).toBe(false);
  });

  it("an --evaluation folder that is not a run: exit 1, one line, no output and no staging folder left", () => {
    const o = outcomes["badEvaluation"]!;
    expect(o.code).toBe(1);
    expect(o.stderr).toBe(
      `vlmp: error: ${workspace.world} is not a run directory (no ir.json or summary.json)\n`,
    );
    expect(existsSync(out("bad-evaluation"))).toBe(false);
    expect(readdirSync(join(dir, "exported")).filter((f) => f.startsWith("bad-evaluation"))).toEqual([]);
  });
});
