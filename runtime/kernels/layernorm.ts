// Layer normalisation over the last axis, one row per invocation (vec4 when the row length
// allows): mean, biased variance of the centred row, then (x - mean) * rstd * gamma + beta.
// Optionally also writes the normalised input and the reciprocal std, which the composite's
// gradient rule reuses.

import { DEFAULT_TARGET, declareBindings, type Kernel, type KernelTarget, loopBound } from "./kernel.ts";
import { type RowSpec, rowLaunch } from "./softmax.ts";

export interface LayerNormSpec extends RowSpec {
  readonly eps: number;
  readonly gamma: boolean;
  readonly beta: boolean;
  /** Also write xhat [rows, length] and rstd [rows]. */
  readonly saveXhat: boolean;
  readonly saveRstd: boolean;
}

export function layerNormKernel(spec: LayerNormSpec, target: KernelTarget = DEFAULT_TARGET): Kernel {
  const { rows, length } = spec;
  const { pro, vec, w, wg, dispatch, T, main } = rowLaunch(spec, target);
  const hsum = (v: string) => (vec ? `((${v}.x + ${v}.y) + (${v}.z + ${v}.w))` : v);
  const bindings = [
    ...pro.bindings,
    ...(spec.gamma ? [{ name: "gamma", access: "read" as const }] : []),
    ...(spec.beta ? [{ name: "beta", access: "read" as const }] : []),
    { name: "y", access: "read_write" as const },
    ...(spec.saveXhat ? [{ name: "xhat", access: "read_write" as const }] : []),
    ...(spec.saveRstd ? [{ name: "rstd_out", access: "read_write" as const }] : []),
  ];
  const types = bindings.map((b, i) =>
    b.name === "rstd_out" ? "f32" : spec.prologue && i < pro.types.length ? pro.types[i]! : T,
  );
  let out = "xh";
  if (spec.gamma) out = `${out} * gamma[j]`;
  if (spec.beta) out = `${out} + beta[j]`;
  const eps = String(Math.fround(spec.eps));
  const body = [
    ...main,
    `  var s = ${T}(0.0f);`,
    `  for (var j = 0u; j < ${loopBound(w)}; j++) {`,
    `    s += ${pro.read("base + j")};`,
    "  }",
    `  let mean = ${hsum("s")} / ${length}.0f;`,
    `  var q = ${T}(0.0f);`,
    `  for (var j = 0u; j < ${loopBound(w)}; j++) {`,
    `    let d = ${pro.read("base + j")} - mean;`,
    "    q += d * d;",
    "  }",
    `  let rstd = inverseSqrt(${hsum("q")} / ${length}.0f + ${/[.e]/.test(eps) ? eps : `${eps}.0`}f);`,
    `  for (var j = 0u; j < ${loopBound(w)}; j++) {`,
    `    let xh = (${pro.read("base + j")} - mean) * rstd;`,
    `    y[base + j] = ${out};`,
    ...(spec.saveXhat ? ["    xhat[base + j] = xh;"] : []),
    "  }",
    ...(spec.saveRstd ? ["  rstd_out[row] = rstd;"] : []),
    "}",
  ].join("\n");
  return {
    name: `layernorm_rows[${rows}x${length}${pro.tag}]`,
    code: `${declareBindings(bindings, types)}\n\n${pro.fn}${body}\n`,
    bindings,
    workgroupSize: [wg, 1, 1],
    dispatch,
  };
}
