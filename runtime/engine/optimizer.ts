// The optimisers of stdlib/optim.vlmp over host parameters (Float64Array, updated in place), with PyTorch's
// semantics (torch.optim 2.x) and parameter groups: each group has its peak learning rate and weight decay,
// the schedule scales every group's peak (or replaces it during a fixed warm-up). The state (momentum
// buffers, moments, the step count) is exported as named tensors so that a checkpoint can hold it and a
// resumed run continues bit for bit.
//
//   sgd:      d = g + wd·θ; b = d on the first step, else μ·b + (1 − dampening)·d; d = b (Nesterov: d + μ·b)
//   adamw:    θ ← θ·(1 − lr·wd); m, v moments; θ ← θ − lr/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + ε)
//   adadelta: g ← g + wd·θ (METHODS §4.4); v = ρv + (1 − ρ)g²; δ = √(u + ε)/√(v + ε)·g; u = ρu + (1 − ρ)δ²

import { isJsonObject, type JsonObject, type JsonValue } from "../../compiler/values.ts";
import { RunError } from "./errors.ts";

/** A trainable parameter as the optimiser sees it. */
export interface HostParam {
  readonly key: string;
  readonly data: Float64Array;
}

export interface ParamGroup {
  /** The peak learning rate (before the schedule). */
  readonly lr: number;
  readonly weightDecay: number;
  readonly keys: readonly string[];
}

export type OptimizerKind = "sgd" | "adamw" | "adadelta";

export interface OptimizerSettings {
  readonly kind: OptimizerKind;
  readonly lr: number;
  readonly weightDecay: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly rho: number;
  readonly amsgrad: boolean;
}

/** A group's learning rate for one step: the peak scaled by the schedule, or a fixed value. */
export type LearningRate = (peak: number) => number;

export class Optimizer {
  /** Per-parameter state slots (`momentum`, `exp_avg`, …), by parameter key. */
  private readonly state = new Map<string, Map<string, Float64Array>>();
  /** Steps taken so far (PyTorch's per-parameter `step`; the same for every parameter here). */
  steps = 0;

  constructor(
    readonly settings: OptimizerSettings,
    readonly groups: readonly ParamGroup[],
  ) {}

  private slot(key: string, name: string, size: number): Float64Array {
    let byName = this.state.get(key);
    if (!byName) this.state.set(key, (byName = new Map()));
    let s = byName.get(name);
    if (!s) byName.set(name, (s = new Float64Array(size)));
    return s;
  }

  /** One update of every parameter of every group from `grads` (by key); `lr` maps a group's peak. */
  step(
    params: ReadonlyMap<string, HostParam>,
    grads: ReadonlyMap<string, Float64Array>,
    lr: LearningRate,
  ): void {
    const s = this.settings;
    const t = this.steps + 1;
    for (const group of this.groups) {
      const rate = lr(group.lr);
      const wd = group.weightDecay;
      for (const key of group.keys) {
        const p = params.get(key)!.data;
        const g = grads.get(key);
        if (!g) throw new RunError(`no gradient for the trainable parameter '${key}'`);
        const n = p.length;
        if (s.kind === "sgd") {
          const buf = s.momentum !== 0 ? this.slot(key, "momentum_buffer", n) : undefined;
          for (let i = 0; i < n; i++) {
            let d = g[i]! + wd * p[i]!;
            if (buf) {
              buf[i] = t === 1 ? d : s.momentum * buf[i]! + (1 - s.dampening) * d;
              d = s.nesterov ? d + s.momentum * buf[i]! : buf[i]!;
            }
            p[i]! -= rate * d;
          }
        } else if (s.kind === "adamw") {
          const [b1, b2] = s.betas;
          const m = this.slot(key, "exp_avg", n);
          const v = this.slot(key, "exp_avg_sq", n);
          const vmax = s.amsgrad ? this.slot(key, "max_exp_avg_sq", n) : undefined;
          const c1 = 1 - b1 ** t;
          const c2 = Math.sqrt(1 - b2 ** t);
          for (let i = 0; i < n; i++) {
            p[i]! *= 1 - rate * wd;
            m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
            v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
            let second = v[i]!;
            if (vmax) {
              vmax[i] = Math.max(vmax[i]!, v[i]!);
              second = vmax[i]!;
            }
            p[i]! -= (rate / c1) * (m[i]! / (Math.sqrt(second) / c2 + s.eps));
          }
        } else {
          const v = this.slot(key, "square_avg", n);
          const u = this.slot(key, "acc_delta", n);
          for (let i = 0; i < n; i++) {
            const gi = g[i]! + wd * p[i]!;
            v[i] = s.rho * v[i]! + (1 - s.rho) * gi * gi;
            const delta = (Math.sqrt(u[i]! + s.eps) / Math.sqrt(v[i]! + s.eps)) * gi;
            u[i] = s.rho * u[i]! + (1 - s.rho) * delta * delta;
            p[i]! -= rate * delta;
          }
        }
      }
    }
    this.steps = t;
  }

  /** The state as named tensors: `<param key>/<slot>`. */
  exportState(): Map<string, Float64Array> {
    const out = new Map<string, Float64Array>();
    for (const [key, slots] of this.state) for (const [name, s] of slots) out.set(`${key}/${name}`, s);
    return out;
  }

  importState(steps: number, tensors: ReadonlyMap<string, Float64Array>): void {
    this.state.clear();
    this.steps = steps;
    for (const [name, data] of tensors) {
      const at = name.lastIndexOf("/");
      this.slot(name.slice(0, at), name.slice(at + 1), data.length).set(data);
    }
  }
}

function num(args: JsonObject, name: string, fallback: number): number {
  const v = args[name];
  return typeof v === "number" ? v : fallback;
}

/**
 * The optimiser an `optimizer = sgd(…)` call describes, over `params` (in order). `groupKeys` gives the
 * parameters each group's target adapter makes trainable (by the adapter's definition name); parameters
 * no group claims form the default group with the call's `lr` and `weight_decay`.
 */
export function createOptimizer(
  call: JsonValue | undefined,
  params: readonly string[],
  groupKeys: (adapter: string) => readonly string[],
): Optimizer {
  if (!isJsonObject(call) || !("$call" in call)) throw new RunError("the train block has no optimizer");
  const name = String(call["$call"]).split(".").pop()!;
  if (name !== "sgd" && name !== "adamw" && name !== "adadelta") {
    throw new RunError(`optimizer '${String(call["$call"])}' is not supported (sgd, adamw, adadelta)`);
  }
  const args = (call["args"] ?? {}) as JsonObject;
  const betas = Array.isArray(args["betas"]) ? (args["betas"] as number[]) : [0.9, 0.999];
  const settings: OptimizerSettings = {
    kind: name,
    lr: num(args, "lr", name === "adadelta" ? 1 : 1e-3),
    weightDecay: num(args, "weight_decay", name === "adamw" ? 0.01 : 0),
    momentum: num(args, "momentum", 0),
    dampening: num(args, "dampening", 0),
    nesterov: args["nesterov"] === true,
    betas: [betas[0] ?? 0.9, betas[1] ?? 0.999],
    eps: num(args, "eps", name === "adadelta" ? 1e-6 : 1e-8),
    rho: num(args, "rho", 0.9),
    amsgrad: args["amsgrad"] === true,
  };
  if (settings.nesterov && (settings.momentum <= 0 || settings.dampening !== 0)) {
    throw new RunError("sgd: Nesterov momentum requires a momentum and zero dampening (as PyTorch)");
  }
  const claimed = new Set<string>();
  const groups: ParamGroup[] = [];
  for (const g of (args["groups"] ?? []) as JsonValue[]) {
    if (!isJsonObject(g)) continue;
    const gargs = (g["args"] ?? {}) as JsonObject;
    const target = gargs["target"];
    const adapter =
      isJsonObject(target) && "$definition" in target ? String(target["$definition"]) : String(target);
    const keys = groupKeys(adapter).filter((k) => params.includes(k) && !claimed.has(k));
    for (const k of keys) claimed.add(k);
    groups.push({
      lr: num(gargs, "lr", settings.lr),
      weightDecay: num(gargs, "weight_decay", settings.weightDecay),
      keys,
    });
  }
  const rest = params.filter((k) => !claimed.has(k));
  if (rest.length > 0) groups.push({ lr: settings.lr, weightDecay: settings.weightDecay, keys: rest });
  return new Optimizer(settings, groups);
}
