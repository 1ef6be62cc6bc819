// Fused scaled dot-product attention for the sequence lengths CLIP uses (keys <= MAX_KEYS):
// o = softmax(q k^T * scale, masked) v in one kernel. A workgroup of 8 invocations takes one
// (batch, head) and a block of 8 * ROWS queries; each invocation owns ROWS query rows (interleaved
// by 8), so every key and value row it loads serves ROWS queries. Scores live in private arrays
// (two passes: scores and their maximum, then exponentials, their sum and the weighted values).
// q, k, v and the output are read and written through element strides, so the head split and
// merge permutes of multi-head attention fold into the kernel's indexing. A fully masked row gives
// NaN, as PyTorch (and the composite's definition). Optionally writes the probabilities, which the
// composite's gradient rule reuses.

import {
  BUILTINS,
  count,
  DEFAULT_TARGET,
  declareBindings,
  F32_BITS,
  grid,
  groupIndex,
  type Kernel,
  type KernelBinding,
  type KernelTarget,
  literal,
  loopBound,
  NUM_WORKGROUPS,
  storageType,
} from "./kernel.ts";

export const MAX_KEYS = 512;
const LANES = 8;

/** How a [...batch, rows, cols] operand is laid out: element strides per batch axis, row and column. */
export interface OperandLayout {
  readonly batch: readonly number[];
  readonly row: number;
  readonly col: number;
}

export interface AttentionSpec {
  /** The result's batch axes (heads included), e.g. [B, H]. */
  readonly batch: readonly number[];
  readonly lq: number;
  readonly lk: number;
  readonly d: number;
  readonly dv: number;
  readonly scale: number;
  readonly causal: boolean;
  readonly q: OperandLayout;
  readonly k: OperandLayout;
  readonly v: OperandLayout;
  readonly out: OperandLayout;
  /** A bool (i32) mask [..., lq, lk] read through these strides (0 where broadcast). */
  readonly mask?: OperandLayout;
  /** Also write the probabilities, contiguous [...batch, lq, lk]. */
  readonly saveProbs: boolean;
  /** Query rows per invocation (default 4). */
  readonly rows?: number;
}

function batchOffset(batch: readonly number[], strides: readonly number[]): string {
  const terms: string[] = [];
  let inner = 1;
  for (let i = batch.length - 1; i >= 0; i--) {
    const d = batch[i]!;
    if (d > 1 && strides[i]! !== 0) {
      let c = inner === 1 ? "z" : `(z / ${inner}u)`;
      if (i > 0) c = `(${c} % ${d}u)`;
      terms.push(`${c} * ${strides[i]!}u`);
    }
    inner *= d;
  }
  return terms.length === 0 ? "0u" : terms.join(" + ");
}

const at = (base: string, idx: string, stride: number) =>
  stride === 1 ? `${base} + ${idx}` : `${base} + (${idx}) * ${stride}u`;

export function attentionKernel(spec: AttentionSpec, target: KernelTarget = DEFAULT_TARGET): Kernel {
  const { lq, lk, d, dv } = spec;
  const R = spec.rows ?? 4;
  const block = LANES * R;
  const qBlocks = Math.ceil(lq / block);
  const batches = Math.max(1, count(spec.batch));
  const dispatch = grid(qBlocks * batches, target);
  const bindings: KernelBinding[] = [
    { name: "q", access: "read" },
    { name: "k", access: "read" },
    { name: "v", access: "read" },
    ...(spec.mask ? [{ name: "mask", access: "read" as const }] : []),
    { name: "o", access: "read_write" },
    ...(spec.saveProbs ? [{ name: "probs", access: "read_write" as const }] : []),
  ];
  const types = bindings.map((b) => (b.name === "mask" ? storageType("bool") : "f32"));
  const rows = Array.from({ length: R }, (_, i) => i);
  const d4 = Math.floor(d / 4);
  const dv4 = Math.floor(dv / 4);
  const vecOf = (arr: string, base: string, c: string, stride: number) =>
    `vec4<f32>(${[0, 1, 2, 3].map((e) => `${arr}[${at(base, `${c} * 4u + ${e}u`, stride)}]`).join(", ")})`;
  const lines: string[] = [
    `@compute @workgroup_size(${LANES})`,
    `fn main(${BUILTINS}, ${NUM_WORKGROUPS}) {`,
    `  let t = ${groupIndex(dispatch)};`,
    `  if (t >= ${qBlocks * batches}u) {`,
    "    return;",
    "  }",
    `  let z = t / ${qBlocks}u;`,
    `  let rb = (t % ${qBlocks}u) * ${block}u + lid.x;`,
    `  let qz = ${batchOffset(spec.batch, spec.q.batch)};`,
    `  let kz = ${batchOffset(spec.batch, spec.k.batch)};`,
    `  let vz = ${batchOffset(spec.batch, spec.v.batch)};`,
    `  let oz = ${batchOffset(spec.batch, spec.out.batch)};`,
    ...(spec.mask ? [`  let mz = ${batchOffset(spec.batch, spec.mask.batch)};`] : []),
    ...rows.map((i) => `  let r${i} = min(rb + ${i * LANES}u, ${lq - 1}u);`),
    ...rows.map((i) => `  let qo${i} = qz + r${i} * ${spec.q.row}u;`),
    ...(d4 > 0 ? rows.map((i) => `  var q${i}: array<vec4<f32>, ${d4}>;`) : []),
    ...(d4 > 0
      ? [
          `  for (var c = 0u; c < ${loopBound(d4)}; c++) {`,
          ...rows.map((i) => `    q${i}[c] = ${vecOf("q", `qo${i}`, "c", spec.q.col)};`),
          "  }",
        ]
      : []),
    ...rows.map((i) => `  var s${i}: array<f32, ${lk}>;`),
    ...rows.map((i) => `  var m${i} = f32_bits(0xff800000u);`),
    `  for (var j = 0u; j < ${loopBound(lk)}; j++) {`,
    `    let ko = kz + j * ${spec.k.row}u;`,
    ...rows.map((i) => `    var a${i} = vec4<f32>(0.0f);`),
    ...(d4 > 0
      ? [
          `    for (var c = 0u; c < ${loopBound(d4)}; c++) {`,
          `      let kv = ${vecOf("k", "ko", "c", spec.k.col)};`,
          ...rows.map((i) => `      a${i} += q${i}[c] * kv;`),
          "    }",
        ]
      : []),
    ...rows.map((i) => {
      let x = `((a${i}.x + a${i}.y) + (a${i}.z + a${i}.w))`;
      for (let e = d4 * 4; e < d; e++) {
        x = `(${x} + q[${at(`qo${i}`, `${e}u`, spec.q.col)}] * k[${at("ko", `${e}u`, spec.k.col)}])`;
      }
      return `    var x${i} = ${x} * ${literal(spec.scale, "f32")};`;
    }),
    ...(spec.causal ? rows.map((i) => `    x${i} = select(x${i}, f32_bits(0xff800000u), j > r${i});`) : []),
    ...(spec.mask
      ? rows.map(
          (i) =>
            `    x${i} = select(f32_bits(0xff800000u), x${i}, mask[mz + r${i} * ${spec.mask!.row}u + j * ${spec.mask!.col}u] != 0i);`,
        )
      : []),
    ...rows.flatMap((i) => [`    s${i}[j] = x${i};`, `    m${i} = max(m${i}, x${i});`]),
    "  }",
    ...rows.map((i) => `  var l${i} = 0.0f;`),
    ...(dv4 > 0 ? rows.map((i) => `  var o${i}: array<vec4<f32>, ${dv4}>;`) : []),
    ...rows.flatMap((i) => Array.from({ length: dv - dv4 * 4 }, (_, e) => `  var t${i}_${e} = 0.0f;`)),
    `  for (var j = 0u; j < ${loopBound(lk)}; j++) {`,
    `    let vo = vz + j * ${spec.v.row}u;`,
    ...rows.flatMap((i) => [
      `    let p${i} = exp(s${i}[j] - m${i});`,
      `    l${i} += p${i};`,
      `    s${i}[j] = p${i};`,
    ]),
    ...(dv4 > 0
      ? [
          `    for (var c = 0u; c < ${loopBound(dv4)}; c++) {`,
          `      let vv = ${vecOf("v", "vo", "c", spec.v.col)};`,
          ...rows.map((i) => `      o${i}[c] += p${i} * vv;`),
          "    }",
        ]
      : []),
    ...Array.from({ length: dv - dv4 * 4 }, (_, e) => [
      `    let ve${e} = v[${at("vo", `${dv4 * 4 + e}u`, spec.v.col)}];`,
      ...rows.map((i) => `    t${i}_${e} += p${i} * ve${e};`),
    ]).flat(),
    "  }",
  ];
  for (const i of rows) {
    lines.push(`  if (rb + ${i * LANES}u < ${lq}u) {`);
    lines.push(`    let inv = 1.0f / l${i};`);
    lines.push(`    let oo = oz + r${i} * ${spec.out.row}u;`);
    if (dv4 > 0) {
      lines.push(`    for (var c = 0u; c < ${loopBound(dv4)}; c++) {`);
      lines.push(`      let w = o${i}[c] * inv;`);
      for (let e = 0; e < 4; e++)
        lines.push(`      o[${at("oo", `c * 4u + ${e}u`, spec.out.col)}] = w.${"xyzw"[e]};`);
      lines.push("    }");
    }
    for (let e = 0; e < dv - dv4 * 4; e++) {
      lines.push(`    o[${at("oo", `${dv4 * 4 + e}u`, spec.out.col)}] = t${i}_${e} * inv;`);
    }
    if (spec.saveProbs) {
      lines.push(`    let po = (z * ${lq}u + r${i}) * ${lk}u;`);
      lines.push(`    for (var j = 0u; j < ${loopBound(lk)}; j++) {`);
      lines.push(`      probs[po + j] = s${i}[j] * inv;`);
      lines.push("    }");
    }
    lines.push("  }");
  }
  lines.push("}");
  const tags = `${spec.causal ? ";causal" : ""}${spec.mask ? ";mask" : ""}${spec.saveProbs ? ";probs" : ""}`;
  return {
    name: `attention[${spec.batch.join("x")}x${lq}x${lk}x${d}x${dv}${tags}]`,
    code: `${declareBindings(bindings, types)}\n\n${F32_BITS}\n\n${lines.join("\n")}\n`,
    bindings,
    workgroupSize: [LANES, 1, 1],
    dispatch,
  };
}
