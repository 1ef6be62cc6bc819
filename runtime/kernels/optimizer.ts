// Optimizer updates as kernels that update a parameter and its state in place (PyTorch's
// semantics, as runtime/reference/optimizer.ts): SGD with momentum, dampening, Nesterov and weight
// decay; AdamW; Adadelta with the weight decay added to the gradient (METHODS §4.4). Constant
// hyperparameters are baked in; what changes per step (the learning rate, bias corrections, SGD's
// first-step flag) is read from a small `hyper` array the host writes before each step, so a
// schedule never recompiles a shader.

import {
  boundedMain,
  DEFAULT_TARGET,
  declareBindings,
  grid,
  type Kernel,
  type KernelBinding,
  type KernelTarget,
  literal,
} from "./kernel.ts";

export type OptimizerSpec =
  | {
      readonly kind: "sgd";
      readonly lr: number;
      readonly momentum?: number;
      readonly dampening?: number;
      readonly nesterov?: boolean;
      readonly weightDecay?: number;
    }
  | {
      readonly kind: "adamw";
      readonly lr: number;
      readonly beta1?: number;
      readonly beta2?: number;
      readonly eps?: number;
      readonly weightDecay?: number;
    }
  | {
      readonly kind: "adadelta";
      readonly lr?: number;
      readonly rho?: number;
      readonly eps?: number;
      readonly weightDecay?: number;
    };

/** State tensors per parameter (each of the parameter's size). */
export function stateCount(spec: OptimizerSpec): number {
  if (spec.kind === "sgd") return (spec.momentum ?? 0) !== 0 ? 1 : 0;
  return 2;
}

export const HYPER_LENGTH = 4;

/** The per-step values the kernels read from `hyper`, for step t (1-based) at learning rate lr. */
export function hyperValues(spec: OptimizerSpec, t: number, lr?: number): Float32Array<ArrayBuffer> {
  const h = new Float32Array(new ArrayBuffer(HYPER_LENGTH * 4));
  h[0] = lr ?? spec.lr ?? 1;
  if (spec.kind === "sgd") h[1] = t === 1 ? 1 : 0;
  if (spec.kind === "adamw") {
    h[1] = 1 - (spec.beta1 ?? 0.9) ** t;
    h[2] = Math.sqrt(1 - (spec.beta2 ?? 0.999) ** t);
  }
  return h;
}

const f = (v: number) => literal(v, "f32");

export function optimizerKernel(
  spec: OptimizerSpec,
  n: number,
  target: KernelTarget = DEFAULT_TARGET,
): Kernel {
  const wg = 64;
  const dispatch = grid(Math.ceil(n / wg), target);
  const states = stateCount(spec);
  const bindings: KernelBinding[] = [
    { name: "p", access: "read_write" },
    { name: "g", access: "read" },
    ...Array.from({ length: states }, (_, k) => ({ name: `s${k}`, access: "read_write" as const })),
    { name: "hyper", access: "read" },
  ];
  const body: string[] = ["  let lr = hyper[0];", "  let pi = p[i];"];
  if (spec.kind === "sgd") {
    const { momentum = 0, dampening = 0, nesterov = false, weightDecay = 0 } = spec;
    body.push(weightDecay !== 0 ? `  var d = g[i] + ${f(weightDecay)} * pi;` : "  var d = g[i];");
    if (momentum !== 0) {
      body.push(`  let buf = select(${f(momentum)} * s0[i] + ${f(1 - dampening)} * d, d, hyper[1] != 0.0f);`);
      body.push("  s0[i] = buf;");
      body.push(nesterov ? `  d = d + ${f(momentum)} * buf;` : "  d = buf;");
    }
    body.push("  p[i] = pi - lr * d;");
  } else if (spec.kind === "adamw") {
    const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 1e-2 } = spec;
    body.push(
      "  let gi = g[i];",
      `  let decayed = pi * (1.0f - lr * ${f(weightDecay)});`,
      `  let m = ${f(beta1)} * s0[i] + ${f(1 - beta1)} * gi;`,
      `  let v = ${f(beta2)} * s1[i] + ${f(1 - beta2)} * gi * gi;`,
      "  s0[i] = m;",
      "  s1[i] = v;",
      `  p[i] = decayed - (lr / hyper[1]) * (m / (sqrt(v) / hyper[2] + ${f(eps)}));`,
    );
  } else {
    const { rho = 0.9, eps = 1e-6, weightDecay = 0 } = spec;
    body.push(
      weightDecay !== 0 ? `  let gi = g[i] + ${f(weightDecay)} * pi;` : "  let gi = g[i];",
      `  let v = ${f(rho)} * s0[i] + ${f(1 - rho)} * gi * gi;`,
      `  let delta = sqrt(s1[i] + ${f(eps)}) / sqrt(v + ${f(eps)}) * gi;`,
      "  s0[i] = v;",
      `  s1[i] = ${f(rho)} * s1[i] + ${f(1 - rho)} * delta * delta;`,
      "  p[i] = pi - lr * delta;",
    );
  }
  const code = [
    declareBindings(
      bindings,
      bindings.map(() => "f32"),
    ),
    "",
    ...boundedMain(wg, "i", "p"),
    ...body,
    "}",
    "",
  ].join("\n");
  return { name: `${spec.kind}[${n}]`, code, bindings, workgroupSize: [wg, 1, 1], dispatch };
}
