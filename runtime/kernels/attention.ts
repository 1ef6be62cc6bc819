// Fused scaled dot-product attention for the sequence lengths CLIP uses (keys <= MAX_KEYS):
// o = softmax(q k^T * scale, masked) v in one kernel, one pass over the keys (online softmax).
// A workgroup of 8 invocations takes one (batch, head) and a block of 8 * rows queries; each
// invocation owns `rows` queries (interleaved by 8) and walks the keys in tiles of 8 * groups
// (tileShape picks both). Lavapipe fills every per-lane value lane by lane with a bounds-checked
// scalar load, so in a tile lane l reads keys j0 + l + 8i and their value rows once and hands them
// to the other lanes (subgroupBroadcast; workgroup memory between barriers where the device has no
// subgroups): every loaded scalar serves 8 * rows queries. The tile's scores and the running
// maximum and sum stay in registers; query and output rows sit in private arrays walked by loops
// (unrolling the output over its columns compiled 5x longer and ran slower). Causal attention stops
// at the block's last query. q, k, v and the output are read and written through
// element strides, so the head split and merge permutes of multi-head attention fold into the
// kernel's indexing; vec4 bindings where the strides allow. A fully masked row gives NaN, as
// PyTorch (and the composite's definition). Optionally writes the probabilities, which the
// composite's gradient rule reuses: raw scores during the pass, normalised once the row's maximum
// and sum are known.

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
  NUM_WORKGROUPS,
  opaqueCount,
  storageType,
} from "./kernel.ts";

const LANES = 8;
export const MAX_KEYS = 512;

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
  /** Queries per invocation (default: tileShape's). */
  readonly rows?: number;
  /** Key groups of 8 per tile (default: tileShape's). */
  readonly groups?: number;
}

function batchOffset(batch: readonly number[], strides: readonly number[], unit: number): string {
  const terms: string[] = [];
  let inner = 1;
  for (let i = batch.length - 1; i >= 0; i--) {
    const d = batch[i]!;
    if (d > 1 && strides[i]! !== 0) {
      let c = inner === 1 ? "z" : `(z / ${inner}u)`;
      if (i > 0) c = `(${c} % ${d}u)`;
      terms.push(`${c} * ${strides[i]! / unit}u`);
    }
    inner *= d;
  }
  return terms.length === 0 ? "0u" : terms.join(" + ");
}

/** An operand read (or the result written) through its strides: vec4 elements where the layout allows. */
class Operand {
  /** Elements per binding element: 4 when rows of `width` are contiguous and vec4-aligned. */
  readonly unit: number;
  constructor(
    readonly name: string,
    readonly layout: OperandLayout,
    readonly width: number,
  ) {
    const aligned = [layout.row, ...layout.batch].every((s) => s % 4 === 0);
    this.unit = width % 4 === 0 && layout.col === 1 && aligned ? 4 : 1;
  }
  get type(): string {
    return this.unit === 4 ? "vec4<f32>" : "f32";
  }
  get rowStride(): number {
    return this.layout.row / this.unit;
  }
  /** Elements c4*4 .. c4*4+3 of the row at `base` as a vec4, zeros past the row's width. */
  vec(base: string, c4: string): string {
    if (this.unit === 4) return `${this.name}[${base} + ${c4}]`;
    const el = (e: number) => {
      const i = `${c4} * 4u + ${e}u`;
      const at = `${this.name}[${base} + min(${i}, ${this.width - 1}u) * ${this.layout.col}u]`;
      return this.width % 4 === 0 ? at : `select(0.0f, ${at}, ${i} < ${this.width}u)`;
    };
    return `vec4<f32>(${[0, 1, 2, 3].map(el).join(", ")})`;
  }
  /** Element `e` (an index expression) of the row at `base`, on a scalar binding. */
  at(base: string, e: string): string {
    return `${this.name}[${base} + ${e} * ${this.layout.col}u]`;
  }
}

/**
 * Queries per invocation and key groups (of 8) per tile. A tile's loads are shared by the block's
 * 8 * rows queries and its per-row upkeep (exponentials, the output row's rescale) by its keys, but
 * rows past the last query and keys past the last key are computed for nothing. Fitted on lavapipe
 * (197 and 50 tokens, rows 3-7, 1-4 groups): a tile costs groups * (0.17 + rows) + 0.7 * rows + 0.4
 * query-row-groups. Capped at 15 row-groups per invocation (larger ones compile for 6-10 s), and at
 * 4 under 2^17 query-key pairs (a tiny model's: 32 images x 4 heads x 17^2 tokens is 37k), whose run
 * time is no reason to compile for seconds.
 */
function tileShape(pairs: number, lq: number, lk: number): { rows: number; groups: number } {
  const most = pairs < 2 ** 17 ? 4 : 15;
  let best = { rows: 1, groups: 1 };
  let bestCost = Number.POSITIVE_INFINITY;
  for (let groups = 1; groups <= 3; groups++) {
    for (let rows = 1; rows * groups <= most && rows <= 7; rows++) {
      const perTile = groups * (0.17 + rows) + 0.7 * rows + 0.4;
      const cost = Math.ceil(lq / (LANES * rows)) * Math.ceil(lk / (LANES * groups)) * perTile;
      if (cost < bestCost - 1e-9) {
        best = { rows, groups };
        bestCost = cost;
      }
    }
  }
  return best;
}

export function attentionKernel(spec: AttentionSpec, target: KernelTarget = DEFAULT_TARGET): Kernel {
  const { lq, lk, d, dv } = spec;
  const subgroups = target.subgroups === true;
  const batches = Math.max(1, count(spec.batch));
  const shape = tileShape(batches * lq * lk, lq, lk);
  const R = spec.rows ?? shape.rows;
  const block = LANES * R;
  const KG = spec.groups ?? shape.groups;
  const KT = LANES * KG;
  const G = Math.ceil(lk / KT);
  const kgs = Array.from({ length: KG }, (_, i) => i);
  const kv = (prefix: string, t: number) => `${prefix}${Math.floor(t / LANES)}_${t % LANES}`;
  const qBlocks = Math.ceil(lq / block);
  const dispatch = grid(qBlocks * batches, target);
  const q = new Operand("q", spec.q, d);
  const k = new Operand("k", spec.k, d);
  const v = new Operand("v", spec.v, dv);
  const o = new Operand("o", spec.out, dv);
  const bindings: KernelBinding[] = [
    { name: "q", access: "read" },
    { name: "k", access: "read" },
    { name: "v", access: "read" },
    ...(spec.mask ? [{ name: "mask", access: "read" as const }] : []),
    { name: "o", access: "read_write" },
    ...(spec.saveProbs ? [{ name: "probs", access: "read_write" as const }] : []),
  ];
  const typeOf: Record<string, string> = {
    q: q.type,
    k: k.type,
    v: v.type,
    mask: storageType("bool"),
    o: o.type,
    probs: "f32",
  };
  const rows = Array.from({ length: R }, (_, r) => r);
  const keys = Array.from({ length: KT }, (_, t) => t);
  const lanes = Array.from({ length: LANES }, (_, t) => t);
  const NEG_INF = "f32_bits(0xff800000u)";
  const D4 = Math.ceil(d / 4);
  // Output columns: vec4s when dv allows, else scalars.
  const vecCols = dv % 4 === 0;
  const U = vecCols ? dv / 4 : dv;
  const colType = vecCols ? "vec4<f32>" : "f32";
  const vLoad = (base: string, u: string) => (vecCols ? v.vec(base, u) : v.at(base, u));
  const oStore = (base: string, u: string, x: string): string[] => {
    if (!vecCols) return [`${o.at(base, u)} = ${x};`];
    if (o.unit === 4) return [`o[${base} + ${u}] = ${x};`];
    return [0, 1, 2, 3].map(
      (e) => `o[${base} + (${u} * 4u + ${e}u) * ${spec.out.col}u] = ${x}.${"xyzw"[e]};`,
    );
  };

  const tiles = spec.causal ? "gEnd" : opaqueCount(G);
  const m = spec.mask;
  const masked = (r: number, t: number): string[] => [
    ...(lk % KT !== 0 ? [`j0 + ${t}u >= ${lk}u`] : []),
    ...(spec.causal ? [`j0 + ${t}u > r${r}`] : []),
    ...(m ? [`mask[mz + r${r} * ${m.row}u + min(j0 + ${t}u, ${lk - 1}u) * ${m.col}u] == 0i`] : []),
  ];

  // Lane t's value of `x`, in every lane: `${name}${t}` for t < 8. Without subgroups, through
  // workgroup memory between barriers.
  const share = (name: string, x: string, via: "wk" | "wv"): string[] =>
    subgroups
      ? [`let ${name}l = ${x};`, ...lanes.map((t) => `let ${name}${t} = subgroupBroadcast(${name}l, ${t}u);`)]
      : [
          `${via}[lid.x] = ${x};`,
          "workgroupBarrier();",
          ...lanes.map((t) => `let ${name}${t} = ${via}[${t}u];`),
          "workgroupBarrier();",
        ];

  const lines: string[] = [
    ...(subgroups
      ? []
      : [
          `var<workgroup> wk: array<vec4<f32>, ${LANES}>;`,
          `var<workgroup> wv: array<${colType}, ${LANES}>;`,
          "",
        ]),
    `@compute @workgroup_size(${LANES})`,
    `fn main(${BUILTINS}, ${NUM_WORKGROUPS}) {`,
    `  let t = ${groupIndex(dispatch)};`,
    `  if (t >= ${qBlocks * batches}u) {`,
    "    return;",
    "  }",
    `  let z = t / ${qBlocks}u;`,
    `  let q0 = (t % ${qBlocks}u) * ${block}u;`,
    `  let qz = ${batchOffset(spec.batch, spec.q.batch, q.unit)};`,
    `  let kz = ${batchOffset(spec.batch, spec.k.batch, k.unit)};`,
    `  let vz = ${batchOffset(spec.batch, spec.v.batch, v.unit)};`,
    `  let oz = ${batchOffset(spec.batch, spec.out.batch, o.unit)};`,
    ...(m ? [`  let mz = ${batchOffset(spec.batch, m.batch, 1)};`] : []),
    ...(spec.causal
      ? [`  let gEnd = min(${opaqueCount(G)}, (min(q0 + ${block}u, ${lq}u) + ${KT - 1}u) / ${KT}u);`]
      : []),
    ...rows.flatMap((r) => [
      `  let r${r} = min(q0 + lid.x + ${r * LANES}u, ${lq - 1}u);`,
      `  let qo${r} = qz + r${r} * ${q.rowStride}u;`,
      `  var qa${r}: array<vec4<f32>, ${D4}>;`,
    ]),
    `  for (var c = 0u; c < ${opaqueCount(D4)}; c++) {`,
    ...rows.map((r) => `    qa${r}[c] = ${q.vec(`qo${r}`, "c")};`),
    "  }",
    ...rows.flatMap((r) => [
      `  var m${r} = ${NEG_INF};`,
      `  var l${r} = 0.0f;`,
      `  var o${r}: array<${colType}, ${U}>;`,
    ]),
    ...(spec.saveProbs ? rows.map((r) => `  let po${r} = (z * ${lq}u + r${r}) * ${lk}u;`) : []),
    `  for (var g = 0u; g < ${tiles}; g++) {`,
    `    let j0 = g * ${KT}u;`,
    // This lane's keys of the tile, read once for all lanes.
    ...kgs.flatMap((i) => [
      `    let jl${i} = min(j0 + lid.x + ${i * LANES}u, ${lk - 1}u);`,
      `    let ko${i} = kz + jl${i} * ${k.rowStride}u;`,
      `    let vo${i} = vz + jl${i} * ${v.rowStride}u;`,
    ]),
    ...rows.flatMap((r) => keys.map((t) => `    var a${r}_${t} = 0.0f;`)),
    `    for (var c = 0u; c < ${opaqueCount(D4)}; c++) {`,
    ...rows.map((r) => `      let x${r} = qa${r}[c];`),
    ...kgs.flatMap((i) => share(`y${i}_`, k.vec(`ko${i}`, "c"), "wk").map((x) => `      ${x}`)),
    ...keys.flatMap((t) => rows.map((r) => `      a${r}_${t} += dot(x${r}, ${kv("y", t)});`)),
    "    }",
    ...rows.flatMap((r) =>
      keys.map((t) => {
        const s = `a${r}_${t} * ${literal(spec.scale, "f32")}`;
        const off = masked(r, t);
        return `    let s${r}_${t} = ${off.length > 0 ? `select(${s}, ${NEG_INF}, ${off.join(" || ")})` : s};`;
      }),
    ),
    ...rows.flatMap((r) => [
      `    let n${r} = max(m${r}, ${keys.map((t) => `s${r}_${t}`).reduce((a, b) => `max(${a}, ${b})`)});`,
      // While every key so far is masked, subtract 0: exp(-inf - 0) = 0, never exp(-inf + inf).
      `    let b${r} = select(n${r}, 0.0f, n${r} == ${NEG_INF});`,
      `    let e${r} = exp(m${r} - b${r});`,
      ...keys.map((t) => `    let p${r}_${t} = exp(s${r}_${t} - b${r});`),
      `    l${r} = l${r} * e${r} + ${keys.map((t) => `p${r}_${t}`).join(" + ")};`,
      `    m${r} = n${r};`,
      ...(spec.saveProbs
        ? [
            `    if (q0 + lid.x + ${r * LANES}u < ${lq}u) {`,
            ...keys.flatMap((t) =>
              lk % KT === 0
                ? [`      probs[po${r} + j0 + ${t}u] = s${r}_${t};`]
                : [
                    `      if (j0 + ${t}u < ${lk}u) {`,
                    `        probs[po${r} + j0 + ${t}u] = s${r}_${t};`,
                    "      }",
                  ],
            ),
            "    }",
          ]
        : []),
    ]),
    `    for (var u = 0u; u < ${opaqueCount(U)}; u++) {`,
    ...kgs.flatMap((i) => share(`w${i}_`, vLoad(`vo${i}`, "u"), "wv").map((x) => `      ${x}`)),
    ...rows.map(
      (r) =>
        `      o${r}[u] = o${r}[u] * e${r} + (${keys.map((t) => `p${r}_${t} * ${kv("w", t)}`).join(" + ")});`,
    ),
    "    }",
    "  }",
  ];
  for (const r of rows) {
    lines.push(`  if (q0 + lid.x + ${r * LANES}u < ${lq}u) {`, `    let inv = 1.0f / l${r};`);
    lines.push(`    let oo = oz + r${r} * ${o.rowStride}u;`);
    lines.push(`    for (var u = 0u; u < ${opaqueCount(U)}; u++) {`);
    lines.push(...oStore("oo", "u", `o${r}[u] * inv`).map((x) => `      ${x}`), "    }");
    if (spec.saveProbs) {
      // Keys past a causal block's last tile were never visited: probability 0.
      lines.push(
        `    for (var j = 0u; j < ${opaqueCount(lk)}; j++) {`,
        `      probs[po${r} + j] = select(0.0f, exp(probs[po${r} + j] - m${r}) * inv, j < ${tiles} * ${KT}u);`,
        "    }",
      );
    }
    lines.push("  }");
  }
  lines.push("}");
  const tags = `${spec.causal ? ";causal" : ""}${spec.mask ? ";mask" : ""}${spec.saveProbs ? ";probs" : ""}`;
  return {
    name: `attention[${spec.batch.join("x")}x${lq}x${lk}x${d}x${dv}${tags}]`,
    code: `${subgroups ? "enable subgroups;\n\n" : ""}${declareBindings(
      bindings,
      bindings.map((b) => typeOf[b.name]!),
    )}\n\n${F32_BITS}\n\n${lines.join("\n")}\n`,
    bindings,
    workgroupSize: [LANES, 1, 1],
    dispatch,
  };
}
