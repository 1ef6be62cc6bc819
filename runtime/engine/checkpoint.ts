// Checkpoints in the run directory's checkpoints/, written atomically, tensors in float64 (exact: a resumed
// run continues bit for bit); the metadata's `format` tells the kinds apart.
// - Training (`vlmp-train-1`): epoch-NNNN.safetensors at the start (epoch 0) and after every epoch:
//   `param/<key>` the trainable parameters, `optim/<key>/<slot>` the optimiser state, `constants/<name>` the
//   per-sample constants; metadata: epoch, global step, optimiser steps, IR hash.
// - Task sequences (`vlmp-tasks-1`): task-KKKK.safetensors after task K is trained and evaluated, and
//   task-KKKK-epoch-EEEE.safetensors after epoch E of task K's training: `param/…` and `optim/…` as above
//   (the optimiser's only within a task: each task makes a fresh one), and per completed task k (0-based)
//   `accuracy/<k>` and `task_aware/<k>` (its rows of the matrices), `metric/<k>/<name>` (its record's
//   values); metadata: tasks completed, epoch, global and in-task steps, optimiser steps, IR hash, and the
//   tasks' metric warnings (JSON).

import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { encodeSafetensors, Safetensors, type TensorToWrite } from "../checkpoint/safetensors.ts";
import type { MetricWarning } from "../metrics/types.ts";
import type { RunDirectory } from "../run/run-dir.ts";
import { RunError } from "./errors.ts";
import type { StepMetrics } from "./task-metrics.ts";

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
const TRAIN_FORMAT = "vlmp-train-1";
const TASKS_FORMAT = "vlmp-tasks-1";

const tensorsOf = (prefix: string, m: ReadonlyMap<string, Float64Array>): TensorToWrite[] =>
  [...m].map(([k, data]) => ({ name: `${prefix}/${k}`, shape: [data.length], data, dtype: "F64" }));

/** Every tensor of a checkpoint file (all F64), and its metadata. */
function readF64(path: string): { tensors: Map<string, Float64Array>; meta: Record<string, string> } {
  const file = Safetensors.open(path);
  const tensors = new Map<string, Float64Array>();
  for (const [name, info] of file.tensors) {
    if (info.dtype !== "F64")
      throw new RunError(`${path}: '${name}' is ${info.dtype}, a checkpoint holds F64`);
    const bytes = file.bytes(name);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const data = new Float64Array(info.size);
    for (let i = 0; i < data.length; i++) data[i] = view.getFloat64(8 * i, true);
    tensors.set(name, data);
  }
  return { tensors, meta: file.metadata };
}

/** Writes the checkpoint; returns its path relative to the run directory. */
export function writeCheckpoint(run: RunDirectory, c: TrainCheckpoint, meta: { irHash: string }): string {
  const tensors = [
    ...tensorsOf("param", c.params),
    ...tensorsOf("optim", c.optimizer),
    ...tensorsOf("constants", c.constants),
  ];
  mkdirSync(run.file("checkpoints"), { recursive: true });
  const relative = join("checkpoints", `epoch-${String(c.epoch).padStart(4, "0")}.safetensors`);
  run.writeFile(
    relative,
    encodeSafetensors(tensors, {
      epoch: String(c.epoch),
      step: String(c.step),
      optimizer_steps: String(c.optimizerSteps),
      ir_hash: meta.irHash,
      format: TRAIN_FORMAT,
    }),
  );
  return relative;
}

export function readCheckpoint(path: string): TrainCheckpoint {
  const { tensors, meta } = readF64(path);
  if (meta["format"] !== undefined && meta["format"] !== TRAIN_FORMAT)
    throw new RunError(`${path} is a ${meta["format"]} checkpoint, not a training one (${TRAIN_FORMAT})`);
  const params = new Map<string, Float64Array>();
  const optimizer = new Map<string, Float64Array>();
  const constants = new Map<string, Float64Array>();
  for (const [name, data] of tensors) {
    const at = name.indexOf("/");
    const kind = name.slice(0, at);
    const key = name.slice(at + 1);
    (kind === "param" ? params : kind === "optim" ? optimizer : constants).set(key, data);
  }
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

/** Where a task sequence stands, and what it has computed so far. */
export interface TasksCheckpoint {
  /** Tasks trained and evaluated. */
  readonly tasks: number;
  /** Epochs trained of the next task (0 at a task boundary). */
  readonly epoch: number;
  /** Steps over the whole sequence, and within the next task's training. */
  readonly step: number;
  readonly taskStep: number;
  readonly optimizerSteps: number;
  /** The trainable parameters (none for a sequence that does not train). */
  readonly params: ReadonlyMap<string, Float64Array>;
  /** The optimiser state within a task (empty at a task boundary). */
  readonly optimizer: ReadonlyMap<string, Float64Array>;
  /** The metrics of each completed task. */
  readonly metrics: readonly StepMetrics[];
}

const TASK_NAME = /^task-(\d+)(?:-epoch-(\d+))?\.safetensors$/;

/** Writes the sequence's checkpoint; returns its path relative to the run directory. */
export function writeTasksCheckpoint(
  run: RunDirectory,
  c: TasksCheckpoint,
  meta: { irHash: string },
): string {
  const tensors = [...tensorsOf("param", c.params), ...tensorsOf("optim", c.optimizer)];
  c.metrics.forEach((m, k) => {
    tensors.push({
      name: `accuracy/${k}`,
      shape: [m.accuracies.length],
      data: Float64Array.from(m.accuracies),
      dtype: "F64",
    });
    tensors.push({
      name: `task_aware/${k}`,
      shape: [m.taskAware.length],
      data: Float64Array.from(m.taskAware),
      dtype: "F64",
    });
    for (const [name, v] of Object.entries(m.values))
      tensors.push({ name: `metric/${k}/${name}`, shape: [1], data: Float64Array.of(v), dtype: "F64" });
  });
  const pad = (n: number) => String(n).padStart(4, "0");
  // Mid-task: named by the task in training (1-based) and its epochs done.
  const name = c.epoch > 0 ? `task-${pad(c.tasks + 1)}-epoch-${pad(c.epoch)}` : `task-${pad(c.tasks)}`;
  mkdirSync(run.file("checkpoints"), { recursive: true });
  const relative = join("checkpoints", `${name}.safetensors`);
  run.writeFile(
    relative,
    encodeSafetensors(tensors, {
      tasks: String(c.tasks),
      epoch: String(c.epoch),
      step: String(c.step),
      task_step: String(c.taskStep),
      optimizer_steps: String(c.optimizerSteps),
      warnings: JSON.stringify(c.metrics.map((m) => m.warnings)),
      ir_hash: meta.irHash,
      format: TASKS_FORMAT,
    }),
  );
  return relative;
}

export function readTasksCheckpoint(path: string): TasksCheckpoint & { irHash: string } {
  const { tensors, meta } = readF64(path);
  if (meta["format"] !== TASKS_FORMAT)
    throw new RunError(`${path} is not a task sequence's checkpoint (format ${meta["format"] ?? "none"})`);
  const params = new Map<string, Float64Array>();
  const optimizer = new Map<string, Float64Array>();
  const tasks = Number(meta["tasks"]);
  const warnings = JSON.parse(meta["warnings"] ?? "[]") as MetricWarning[][];
  const metrics = Array.from({ length: tasks }, (_, k) => ({
    accuracies: [] as number[],
    taskAware: [] as number[],
    values: {} as Record<string, number>,
    warnings: warnings[k] ?? [],
  }));
  for (const [name, data] of tensors) {
    const at = name.indexOf("/");
    const [kind, rest] = [name.slice(0, at), name.slice(at + 1)];
    if (kind === "param") params.set(rest, data);
    else if (kind === "optim") optimizer.set(rest, data);
    else if (kind === "accuracy") metrics[Number(rest)]!.accuracies.push(...data);
    else if (kind === "task_aware") metrics[Number(rest)]!.taskAware.push(...data);
    else if (kind === "metric") {
      const cut = rest.indexOf("/");
      metrics[Number(rest.slice(0, cut))]!.values[rest.slice(cut + 1)] = data[0]!;
    }
  }
  return {
    tasks,
    epoch: Number(meta["epoch"]),
    step: Number(meta["step"]),
    taskStep: Number(meta["task_step"]),
    optimizerSteps: Number(meta["optimizer_steps"]),
    params,
    optimizer,
    metrics,
    irHash: String(meta["ir_hash"]),
  };
}

/** The sequence's furthest checkpoint in the run directory (most tasks, then most epochs), if any. */
export function latestTasksCheckpoint(run: RunDirectory): (TasksCheckpoint & { irHash: string }) | undefined {
  const dir = run.file("checkpoints");
  if (!existsSync(dir)) return undefined;
  const position = (m: RegExpExecArray) =>
    m[2] === undefined ? [Number(m[1]), 0] : [Number(m[1]) - 1, Number(m[2])];
  const found = readdirSync(dir)
    .map((f) => TASK_NAME.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ file: m[0], at: position(m) }))
    .sort((a, b) => b.at[0]! - a.at[0]! || b.at[1]! - a.at[1]!);
  return found[0] ? readTasksCheckpoint(join(dir, found[0].file)) : undefined;
}
