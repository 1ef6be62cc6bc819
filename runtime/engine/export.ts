// `vlmp model export`: a training run's backbone as a checkpoint folder in the HF layout. The run's backbone
// checkpoint gives the layout, the configuration and the tokenizer files; every tensor the run trained is
// replaced by its value at the chosen epoch (default the last), stored as f32 or f16. Adapter parameters
// (prompt contexts, heads) are not part of the HF layout and are listed, not written. The model card records
// where the weights came from (pipeline, IR hash, epoch, steps, seconds, device) and the run's metrics, and
// those of any evaluation runs given with it (zero-shot figures of the exported model on other data).

import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { PipelineIr } from "../../compiler/ir.ts";
import { type TensorToWrite, writeSafetensors } from "../checkpoint/safetensors.ts";
import { RunDirectory, type Summary } from "../run/run-dir.ts";
import { latestCheckpoint, readCheckpoint } from "./checkpoint.ts";
import { RunError } from "./errors.ts";
import { loadBackbone } from "./model.ts";
import { resolveTemplates } from "./run-context.ts";

/** The HF files a checkpoint folder carries beside model.safetensors (copied when the source has them). */
const COMPANION_FILES = [
  "config.json",
  "vocab.json",
  "merges.txt",
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "preprocessor_config.json",
];

export interface ExportOptions {
  readonly run: string;
  readonly out: string;
  readonly dtype: "f32" | "f16";
  /** An epoch whose checkpoint to export (default: the last). */
  readonly epoch?: number;
  /** Run directories whose `after` metrics the model card lists (evaluations of the exported model). */
  readonly evaluations?: readonly string[];
  /** The command that reproduces the export, for the model card. */
  readonly reproduce?: string;
  /** Markdown appended to the model card (what the figures mean, limitations). */
  readonly notes?: string;
}

export interface ExportResult {
  readonly files: readonly string[];
  readonly trained: number;
  /** Trained parameters that are not the backbone's (adapters): not written. */
  readonly skipped: readonly string[];
}

function openRun(dir: string): RunDirectory {
  if (!existsSync(join(dir, "summary.json")) || !existsSync(join(dir, "ir.json")))
    throw new RunError(`${dir} is not a run directory (no ir.json or summary.json)`);
  return RunDirectory.open(dir);
}

export function exportBackbone(options: ExportOptions): ExportResult {
  const run = openRun(options.run);
  const ir = JSON.parse(readFileSync(run.file("ir.json"), "utf8")) as PipelineIr;
  const summary = run.summary();
  const epochFile =
    options.epoch === undefined
      ? undefined
      : run.file(`checkpoints/epoch-${String(options.epoch).padStart(4, "0")}.safetensors`);
  const checkpoint =
    epochFile === undefined
      ? latestCheckpoint(run)
      : existsSync(epochFile)
        ? readCheckpoint(epochFile)
        : undefined;
  if (!checkpoint) {
    const which = options.epoch === undefined ? "any epoch" : `epoch ${options.epoch}`;
    throw new RunError(`${run.path} holds no checkpoint of ${which}`);
  }
  const backbone = loadBackbone(ir);
  const base = backbone.checkpoint;
  const tensors: TensorToWrite[] = [];
  let trained = 0;
  for (const [key, info] of [...base.weights.tensors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const value = checkpoint.params.get(key);
    if (value && value.length !== info.size) {
      throw new RunError(`the run's '${key}' holds ${value.length} values, the checkpoint's ${info.size}`);
    }
    if (value) trained++;
    tensors.push({
      name: key,
      shape: info.shape,
      data: value ?? base.weights.read(key),
      dtype: options.dtype === "f16" ? "F16" : "F32",
    });
  }
  const skipped = [...checkpoint.params.keys()].filter((k) => !base.weights.tensors.has(k));

  // Opened before anything is written: an evaluation folder that is not a run fails the export cleanly.
  const evaluations = (options.evaluations ?? []).map((dir) => {
    const run = openRun(dir);
    const evaluated = JSON.parse(readFileSync(run.file("ir.json"), "utf8")) as PipelineIr;
    const data = evaluated.root.blocks.find((b) => b.block === "data");
    return {
      dir,
      summary: run.summary(),
      templates: data ? resolveTemplates(evaluated, data.settings["templates"]) : [],
    };
  });

  // Written beside the target and renamed into place, so that a failed export leaves no half folder.
  const staging = `${options.out}.partial-${process.pid}`;
  mkdirSync(staging, { recursive: true });
  const files = ["model.safetensors"];
  try {
    writeSafetensors(join(staging, "model.safetensors"), tensors, { format: "pt" });
    for (const f of COMPANION_FILES) {
      if (existsSync(join(base.dir, f))) {
        copyFileSync(join(base.dir, f), join(staging, f));
        files.push(f);
      }
    }
    writeFileSync(
      join(staging, "README.md"),
      modelCard({
        ir,
        summary,
        epoch: checkpoint.epoch,
        step: checkpoint.step,
        options,
        evaluations,
        trained,
      }),
    );
    files.push("README.md");
    // The spec that trained these weights travels with them (the run directory may not).
    if (existsSync(run.file("spec.vlmp"))) {
      copyFileSync(run.file("spec.vlmp"), join(staging, "vlmp-spec.vlmp"));
      files.push("vlmp-spec.vlmp");
    }
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  if (existsSync(options.out)) {
    for (const f of readdirSync(staging)) renameSync(join(staging, f), join(options.out, f));
    rmSync(staging, { recursive: true });
  } else renameSync(staging, options.out);
  return { files: files.map((f) => join(options.out, f)), trained, skipped };
}

function metricsTable(values: Summary["after"]): string {
  const rows = Object.entries(values ?? {}).map(
    ([k, v]) => `| ${k} | ${v === null || v === undefined ? "NaN" : v.toFixed(4)} |`,
  );
  return ["| metric | value |", "|---|---|", ...rows].join("\n");
}

function modelCard(c: {
  ir: PipelineIr;
  summary: Summary;
  epoch: number;
  step: number;
  options: ExportOptions;
  evaluations: { dir: string; summary: Summary; templates: readonly string[] }[];
  trained: number;
}): string {
  const extra = (c.summary.extra ?? {}) as { train?: Record<string, unknown> };
  const train = extra.train ?? {};
  const id = c.summary.identity;
  const sections = [
    `---
license: mit
library_name: transformers
tags:
  - clip
  - vlmp
---

# ${c.ir.pipeline}: exported by vlmp

The backbone of the run \`${c.options.run}\` (pipeline \`${c.ir.pipeline}\`, IR hash \`${id.irHash}\`, seed ${id.seed}),
at epoch ${c.epoch} (step ${c.step}): ${c.trained} trained tensors, stored as ${c.options.dtype}. Trained on
${id.device} with vlmp ${id.vlmpVersion}${train["seconds"] !== undefined ? ` in ${train["seconds"]} s of optimisation steps (${train["images_per_second"]} images/s)` : ""}.
The spec is the run's \`spec.vlmp\` (copied here as \`vlmp-spec.vlmp\`); the configuration, vocabulary and preprocessing files are the base
checkpoint's.${c.options.reproduce ? `\n\nReproduce with:\n\n\`\`\`sh\n${c.options.reproduce}\n\`\`\`` : ""}`,
  ];
  if (c.summary.before) sections.push(`## Before training\n\n${metricsTable(c.summary.before)}`);
  if (c.summary.after) sections.push(`## After training\n\n${metricsTable(c.summary.after)}`);
  for (const e of c.evaluations) {
    const values = e.summary.after ?? {};
    sections.push(
      `## Evaluation: ${e.summary.identity.pipeline}\n\nThe run \`${e.dir}\` (IR hash \`${e.summary.identity.irHash}\`)${e.templates.length > 0 ? `, prompts ${e.templates.map((t) => JSON.stringify(t)).join(", ")}` : ""}.\n\n${metricsTable(values)}`,
    );
  }
  if (c.options.notes) sections.push(c.options.notes.trim());
  sections.push(
    "The tokenizer files (vocab.json, merges.txt) are CLIP's, derived from `bpe_simple_vocab_16e6.txt.gz`\n(MIT License, Copyright (c) 2021 OpenAI).",
  );
  return `${sections.join("\n\n")}\n`;
}
