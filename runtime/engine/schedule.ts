// Learning-rate schedules of stdlib/optim.vlmp: the learning rate of a group with peak `lr` at a position of
// the run (global step, epoch). `constant()`: the peak. `cosine(every, floor, warmup)`:
//   lr = floor·peak + ½(peak − floor·peak)(1 + cos(π·k/K))
// stepped every iteration (k = the step, 0-based, K = the run's steps: PyTorch's CosineAnnealingLR with
// T_max = steps, stepped after each iteration) or once per epoch (k = the epoch, K = the epochs).
// `linear(fraction)` warm-up: the first W = ⌊fraction·S⌋ steps run at peak·(s + 1)/W, then k = s − W over
// K = S − W (CLAP4CLIP, METHODS §2.5). `fixed(epochs, lr)`: the first epochs run at `lr` (not scaled), then
// k counts on over K = the run's epochs including the warm-up (APEX, METHODS §4.4).

import { isJsonObject, type JsonObject, type JsonValue } from "../../compiler/values.ts";
import { RunError } from "./errors.ts";
import type { LearningRate } from "./optimizer.ts";

export interface SchedulePosition {
  /** Global step, 0-based (the step about to be taken). */
  readonly step: number;
  /** Epoch, 0-based. */
  readonly epoch: number;
  /** Steps in the whole run, and epochs. */
  readonly steps: number;
  readonly epochs: number;
}

export type Schedule = (at: SchedulePosition) => LearningRate;

export function createSchedule(call: JsonValue | undefined): Schedule {
  if (call === undefined || call === null) return () => (peak) => peak;
  if (!isJsonObject(call) || !("$call" in call))
    throw new RunError(`schedule ${JSON.stringify(call)} is not a call`);
  const name = String(call["$call"]).split(".").pop()!;
  const args = (call["args"] ?? {}) as JsonObject;
  if (name === "constant") return () => (peak) => peak;
  if (name !== "cosine") throw new RunError(`schedule '${String(call["$call"])}' is not supported`);
  const every = isJsonObject(args["every"]) ? String(args["every"]["$symbol"]) : "step";
  const floor = typeof args["floor"] === "number" ? args["floor"] : 0;
  const warmup = args["warmup"];
  const cosine = (k: number, K: number) => (peak: number) =>
    floor * peak + 0.5 * (peak - floor * peak) * (1 + Math.cos((Math.PI * k) / Math.max(K, 1)));
  if (warmup === null || warmup === undefined) {
    return (at) => (every === "epoch" ? cosine(at.epoch, at.epochs) : cosine(at.step, at.steps));
  }
  if (!isJsonObject(warmup) || !("$call" in warmup)) throw new RunError("schedule: bad warm-up");
  const kind = String(warmup["$call"]).split(".").pop()!;
  const wargs = (warmup["args"] ?? {}) as JsonObject;
  if (kind === "linear") {
    const fraction = Number(wargs["fraction"] ?? 0);
    return (at) => {
      const total = every === "epoch" ? at.epochs : at.steps;
      const k = every === "epoch" ? at.epoch : at.step;
      const W = Math.floor(fraction * total);
      if (k < W) return (peak) => (peak * (k + 1)) / W;
      return cosine(k - W, total - W);
    };
  }
  if (kind === "fixed") {
    const epochs = Number(wargs["epochs"] ?? 1);
    const lr = Number(wargs["lr"] ?? 0);
    return (at) => {
      if (at.epoch < epochs) return () => lr;
      return every === "epoch" ? cosine(at.epoch, at.epochs) : cosine(at.step, at.steps);
    };
  }
  throw new RunError(`warm-up '${String(warmup["$call"])}' is not supported (linear, fixed)`);
}
