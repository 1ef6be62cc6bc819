// Training checkpoints: checkpoints/epoch-NNNN.safetensors in the run directory, written atomically at the
// start (epoch 0) and after every epoch. Tensors in float64 (exact: a resumed run continues bit for bit):
// `param/<key>` the trainable parameters, `optim/<key>/<slot>` the optimiser state, `constants/<name>` the
// per-sample constants; metadata: epoch, global step, optimiser steps, IR hash.

import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { encodeSafetensors, Safetensors, type TensorToWrite } from "../checkpoint/safetensors.ts";
import type { RunDirectory } from "../run/run-dir.ts";
import { RunError } from "./errors.ts";

export interface TrainCheckpoint {
  /** Epochs completed. */
  readonly epoch: number;
  /** Global steps taken. */
  readonly step: number;
  readonly optimizerSteps: number;
  readonly params: ReadonlyMap<string, Float64Array>;
  readonly optimizer: ReadonlyMap<string, Float64Array>;
  readonly constants: ReadonlyMap<string, Float64Array>;
}

const NAME = /^epoch-(\d+)\.safetensors$/;

/** Writes the checkpoint; returns its path relative to the run directory. */
export function writeCheckpoint(run: RunDirectory, c: TrainCheckpoint, meta: { irHash: string }): string {
  const tensors: TensorToWrite[] = [];
  const add = (prefix: string, m: ReadonlyMap<string, Float64Array>) => {
    for (const [k, data] of m)
      tensors.push({ name: `${prefix}/${k}`, shape: [data.length], data, dtype: "F64" });
  };
  add("param", c.params);
  add("optim", c.optimizer);
  add("constants", c.constants);
  mkdirSync(run.file("checkpoints"), { recursive: true });
  const relative = join("checkpoints", `epoch-${String(c.epoch).padStart(4, "0")}.safetensors`);
  run.writeFile(
    relative,
    encodeSafetensors(tensors, {
      epoch: String(c.epoch),
      step: String(c.step),
      optimizer_steps: String(c.optimizerSteps),
      ir_hash: meta.irHash,
      format: "vlmp-train-1",
    }),
  );
  return relative;
}

export function readCheckpoint(path: string): TrainCheckpoint {
  const file = Safetensors.open(path);
  const params = new Map<string, Float64Array>();
  const optimizer = new Map<string, Float64Array>();
  const constants = new Map<string, Float64Array>();
  for (const [name, info] of file.tensors) {
    if (info.dtype !== "F64")
      throw new RunError(`${path}: '${name}' is ${info.dtype}, a training checkpoint holds F64`);
    const bytes = file.bytes(name);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const data = new Float64Array(info.size);
    for (let i = 0; i < data.length; i++) data[i] = view.getFloat64(8 * i, true);
    const at = name.indexOf("/");
    const kind = name.slice(0, at);
    const key = name.slice(at + 1);
    (kind === "param" ? params : kind === "optim" ? optimizer : constants).set(key, data);
  }
  const meta = file.metadata;
  return {
    epoch: Number(meta["epoch"]),
    step: Number(meta["step"]),
    optimizerSteps: Number(meta["optimizer_steps"]),
    params,
    optimizer,
    constants,
  };
}

/** The checkpoint of the highest epoch in the run directory, if any. */
export function latestCheckpoint(run: RunDirectory): TrainCheckpoint | undefined {
  const dir = run.file("checkpoints");
  if (!existsSync(dir)) return undefined;
  const found = readdirSync(dir)
    .map((f) => NAME.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(b[1]) - Number(a[1]));
  return found[0] ? readCheckpoint(join(dir, found[0][0])) : undefined;
}
