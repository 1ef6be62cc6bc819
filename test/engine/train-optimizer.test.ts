// The optimisers and schedules of stdlib/optim.vlmp against PyTorch's update rules computed by hand
// (torch.optim.SGD / AdamW / Adadelta, CosineAnnealingLR, linear and fixed warm-up), parameter groups with
// their own lr, and the state round trip a checkpoint relies on.

import { describe, expect, it } from "vitest";
import type { JsonValue } from "../../compiler/values.ts";
import { createOptimizer, type HostParam, type Optimizer } from "../../runtime/engine/optimizer.ts";
import { createSchedule } from "../../runtime/engine/schedule.ts";

const call = (name: string, args: Record<string, JsonValue>): JsonValue => ({
  $call: `optim.${name}`,
  definition: "extern",
  args,
});
const sym = (s: string): JsonValue => ({ $symbol: s });

/** Runs `steps` updates of one parameter [1] with gradient g(t) (t = 1, 2, …); returns p after each. */
function trajectory(
  opt: Optimizer,
  p0: number,
  g: (t: number) => number,
  steps: number,
  lr?: (peak: number) => number,
) {
  const param: HostParam = { key: "w", data: Float64Array.of(p0) };
  const params = new Map([["w", param]]);
  const out: number[] = [];
  for (let t = 1; t <= steps; t++) {
    opt.step(params, new Map([["w", Float64Array.of(g(t))]]), lr ?? ((peak) => peak));
    out.push(param.data[0]!);
  }
  return out;
}

const make = (name: string, args: Record<string, JsonValue>) =>
  createOptimizer(call(name, args), ["w"], () => []);

describe("optimizers (PyTorch semantics)", () => {
  it("SGD with momentum, dampening and weight decay", () => {
    const opt = make("sgd", { lr: 0.1, momentum: 0.9, dampening: 0.1, weight_decay: 0.1 });
    const got = trajectory(opt, 1, () => 0.5, 3);
    // step 1: d = 0.5 + 0.1·1 = 0.6; the buffer starts as d (no dampening on the first step).
    let p = 1;
    let d = 0.5 + 0.1 * p;
    let buf = d;
    p -= 0.1 * buf;
    expect(got[0]).toBeCloseTo(0.94, 15);
    expect(got[0]).toBe(p);
    // steps 2, 3: buf = 0.9·buf + 0.9·d
    for (const k of [1, 2]) {
      d = 0.5 + 0.1 * p;
      buf = 0.9 * buf + (1 - 0.1) * d;
      p -= 0.1 * buf;
      expect(got[k]).toBeCloseTo(p, 15);
    }
    expect(got[1]).toBeCloseTo(0.94 - 0.1 * (0.54 + 0.9 * 0.594), 12);
  });

  it("SGD with Nesterov momentum", () => {
    const got = trajectory(make("sgd", { lr: 0.1, momentum: 0.9, nesterov: true }), 1, () => 0.5, 2);
    // step 1: buf = 0.5, d = 0.5 + 0.9·0.5 = 0.95; step 2: buf = 0.9·0.5 + 0.5 = 0.95, d = 0.5 + 0.855
    expect(got[0]).toBeCloseTo(1 - 0.095, 15);
    expect(got[1]).toBeCloseTo(1 - 0.095 - 0.1 * (0.5 + 0.9 * 0.95), 15);
  });

  it("plain SGD is p − lr·g", () => {
    expect(trajectory(make("sgd", { lr: 0.5 }), 2, (t) => t, 2)).toEqual([1.5, 0.5]);
  });

  it("AdamW: decoupled decay, then the bias-corrected Adam step", () => {
    const got = trajectory(make("adamw", { lr: 0.1, weight_decay: 0.01 }), 1, (t) => 0.5 * t, 2);
    // step 1: p = 1·(1 − 0.001); m = 0.05, v = 0.00025; m̂ = 0.5, √v̂ = 0.5 → p −= 0.1·0.5/(0.5 + 1e-8)
    const p1 = 0.999 - 0.1 * (0.5 / (0.5 + 1e-8));
    expect(got[0]).toBeCloseTo(p1, 14);
    // step 2: g = 1; m = 0.045 + 0.1 = 0.145, v = 0.00024975 + 0.001 = 0.00124975
    const m = 0.9 * 0.05 + 0.1 * 1;
    const v = 0.999 * 0.00025 + 0.001 * 1;
    const p2 = p1 * 0.999 - (0.1 / (1 - 0.81)) * (m / (Math.sqrt(v) / Math.sqrt(1 - 0.999 ** 2) + 1e-8));
    expect(got[1]).toBeCloseTo(p2, 14);
  });

  it("Adadelta adds weight decay to the gradient", () => {
    const got = trajectory(make("adadelta", { lr: 1, weight_decay: 0.1 }), 1, () => 0.5, 2);
    // step 1: g = 0.5 + 0.1 = 0.6; v = 0.1·0.36 = 0.036; δ = √(1e-6)/√(0.036 + 1e-6)·0.6
    const g1 = 0.6;
    const v1 = 0.1 * g1 * g1;
    const d1 = (Math.sqrt(1e-6) / Math.sqrt(v1 + 1e-6)) * g1;
    const u1 = 0.1 * d1 * d1;
    const p1 = 1 - d1;
    expect(got[0]).toBeCloseTo(p1, 15);
    const g2 = 0.5 + 0.1 * p1;
    const v2 = 0.9 * v1 + 0.1 * g2 * g2;
    const d2 = (Math.sqrt(u1 + 1e-6) / Math.sqrt(v2 + 1e-6)) * g2;
    expect(got[1]).toBeCloseTo(p1 - d2, 15);
  });

  it("groups: each adapter's parameters at its own lr, the rest at the call's", () => {
    const opt = createOptimizer(
      call("sgd", {
        lr: 0.1,
        groups: [
          {
            $call: "optim.group",
            definition: "extern",
            args: { target: { $definition: "adapters.prompt" }, lr: 1 },
          },
        ],
      }),
      ["a", "b"],
      (adapter) => (adapter === "adapters.prompt" ? ["a"] : []),
    );
    const params = new Map([
      ["a", { key: "a", data: Float64Array.of(1) }],
      ["b", { key: "b", data: Float64Array.of(1) }],
    ]);
    opt.step(
      params,
      new Map([
        ["a", Float64Array.of(1)],
        ["b", Float64Array.of(1)],
      ]),
      (peak) => peak / 2,
    );
    expect(params.get("a")!.data[0]).toBe(0.5);
    expect(params.get("b")!.data[0]).toBe(0.95);
  });

  it("exported state continues exactly where it left off", () => {
    const whole = trajectory(make("adamw", { lr: 0.01, weight_decay: 0.1 }), 1, (t) => Math.sin(t), 6);
    const first = make("adamw", { lr: 0.01, weight_decay: 0.1 });
    const part = trajectory(first, 1, (t) => Math.sin(t), 3);
    const second = make("adamw", { lr: 0.01, weight_decay: 0.1 });
    second.importState(first.steps, first.exportState());
    const rest = trajectory(second, part[2]!, (t) => Math.sin(t + 3), 3);
    expect([...part, ...rest]).toEqual(whole);
  });
});

describe("schedules", () => {
  const at = (step: number, epoch: number) => ({ step, epoch, steps: 10, epochs: 5 });

  it("cosine every step: CosineAnnealingLR with T_max = the run's steps", () => {
    const s = createSchedule(call("cosine", { every: sym("step"), floor: 0, warmup: null }));
    expect(s(at(0, 0))(0.1)).toBe(0.1);
    expect(s(at(5, 2))(0.1)).toBeCloseTo(0.05, 15);
    expect(s(at(9, 4))(0.1)).toBeCloseTo(0.05 * (1 + Math.cos((Math.PI * 9) / 10)), 15);
  });

  it("cosine every epoch with a floor", () => {
    const s = createSchedule(call("cosine", { every: sym("epoch"), floor: 0.1, warmup: null }));
    expect(s(at(7, 0))(1)).toBe(1);
    // lr = 0.1 + ½·0.9·(1 + cos(π·2/5))
    expect(s(at(7, 2))(1)).toBeCloseTo(0.1 + 0.45 * (1 + Math.cos((2 * Math.PI) / 5)), 15);
  });

  it("linear warm-up, then cosine over the remaining steps", () => {
    const warmup = { $call: "optim.linear", definition: "extern", args: { fraction: 0.3 } } as JsonValue;
    const s = createSchedule(call("cosine", { every: sym("step"), floor: 0, warmup }));
    // W = 3: lr = peak·(s + 1)/3 for s < 3, then ½·peak·(1 + cos(π(s − 3)/7))
    expect(s(at(0, 0))(0.3)).toBeCloseTo(0.1, 15);
    expect(s(at(2, 0))(0.3)).toBeCloseTo(0.3, 15);
    expect(s(at(3, 1))(0.3)).toBeCloseTo(0.3, 15);
    expect(s(at(6, 3))(0.3)).toBeCloseTo(0.15 * (1 + Math.cos((3 * Math.PI) / 7)), 15);
  });

  it("fixed warm-up epochs at their own lr, then cosine over all epochs", () => {
    const warmup = { $call: "optim.fixed", definition: "extern", args: { epochs: 1, lr: 1e-5 } } as JsonValue;
    const s = createSchedule(call("cosine", { every: sym("epoch"), floor: 0, warmup }));
    expect(s(at(0, 0))(0.002)).toBe(1e-5);
    // APEX: ½·lr₀·(1 + cos(π(e − 1)/E)) for 1-based e = 2, E = 5
    expect(s(at(3, 1))(0.002)).toBeCloseTo(0.001 * (1 + Math.cos(Math.PI / 5)), 15);
  });

  it("constant", () => {
    expect(createSchedule(call("constant", {}))(at(3, 1))(0.25)).toBe(0.25);
  });
});
