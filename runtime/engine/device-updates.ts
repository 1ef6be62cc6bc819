// Parameter updates on the device: the host optimiser's settings, groups and state as the device trainer's
// optimizer kernels, groups and state tensors, and back (so checkpoints and resume stay exact whichever side
// ran the updates).

import type { TrainerGroup } from "../executor/trainer.ts";
import type { OptimizerSpec } from "../kernels/optimizer.ts";
import { RunError } from "./errors.ts";
import type { HostParam, Optimizer, OptimizerSettings, ParamGroup } from "./optimizer.ts";

/** The host optimiser's state slots in the order of the device kernels' state tensors. */
const DEVICE_SLOTS: Record<OptimizerSettings["kind"], readonly string[]> = {
  sgd: ["momentum_buffer"],
  adamw: ["exp_avg", "exp_avg_sq"],
  adadelta: ["square_avg", "acc_delta"],
};

/** The device optimizer kernel's spec for a group (its weight decay baked in, the lr fed per step). */
export function deviceSpec(s: OptimizerSettings, group: { lr: number; weightDecay: number }): OptimizerSpec {
  if (s.kind === "sgd") {
    return {
      kind: "sgd",
      lr: group.lr,
      momentum: s.momentum,
      dampening: s.dampening,
      nesterov: s.nesterov,
      weightDecay: group.weightDecay,
    };
  }
  if (s.kind === "adamw") {
    return {
      kind: "adamw",
      lr: group.lr,
      beta1: s.betas[0],
      beta2: s.betas[1],
      eps: s.eps,
      weightDecay: group.weightDecay,
    };
  }
  return { kind: "adadelta", lr: group.lr, rho: s.rho, eps: s.eps, weightDecay: group.weightDecay };
}

/** Why the host optimiser must do the updates (undefined: the device kernels implement it exactly). */
export function hostOnlyReason(s: OptimizerSettings): string | undefined {
  if (s.kind === "adamw" && s.amsgrad) return "adamw(amsgrad: true) has no device kernel";
  return undefined;
}

/** The trainer options of a host optimiser: one device group per parameter group, in order. */
export function trainerGroups(optimizer: Optimizer): { optimizer: OptimizerSpec; groups: TrainerGroup[] } {
  const s = optimizer.settings;
  return {
    optimizer: deviceSpec(s, { lr: s.lr, weightDecay: s.weightDecay }),
    groups: optimizer.groups.map((g: ParamGroup) => ({ spec: deviceSpec(s, g), params: g.keys })),
  };
}

/** The host optimiser's state (`<key>/<slot>`) as the device trainer's state tensors, by parameter key. */
export function deviceState(
  optimizer: Optimizer,
  keys: readonly string[],
): Map<string, (Float64Array | undefined)[]> {
  const exported = optimizer.exportState();
  const slots = DEVICE_SLOTS[optimizer.settings.kind];
  return new Map(keys.map((k) => [k, slots.map((slot) => exported.get(`${k}/${slot}`))]));
}

/** Loads the device trainer's state (read back in float64) into the host optimiser and parameters. */
export function importDeviceState(
  optimizer: Optimizer,
  params: ReadonlyMap<string, HostParam>,
  state: {
    steps: number;
    params: ReadonlyMap<string, Float64Array>;
    state: ReadonlyMap<string, Float64Array[]>;
  },
): void {
  const slots = DEVICE_SLOTS[optimizer.settings.kind];
  const tensors = new Map<string, Float64Array>();
  for (const [k, p] of params) {
    const v = state.params.get(k);
    if (!v) throw new RunError(`the device holds no value for '${k}'`);
    p.data.set(v);
    for (const [i, t] of (state.state.get(k) ?? []).entries()) tensors.set(`${k}/${slots[i]!}`, t);
  }
  optimizer.importState(state.steps, tensors);
}
