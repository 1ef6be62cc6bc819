// Batched matmul C[..., M, N] = op(A)[..., M, K] op(B)[..., K, N], op = optional transpose, batch
// axes broadcast. Two variants:
//  - "register": no shared memory, 8-invocation workgroups, each invocation owning 8 rows x 2 vec4
//    columns (16 vec4 accumulators; larger tiles per shape class), adjacent lanes on adjacent
//    columns, a plain k loop loading 2 vec4 of B and 8 scalars of A per step. Best on CPUs
//    (lavapipe), where each storage load is costly and barriers are slow: most arithmetic per load.
//    Where subgroups are exactly the 8 lanes, the lanes read 8 different rows of A and broadcast
//    them, instead of each reading every row (broadcastA). The row count is read at run time, so
//    products that differ only in rows (batch sizes) share one shader.
//  - "tiled": 16x16 workgroups, 64x64 output tiles staged through workgroup memory in k-steps of 16,
//    4x4 outputs per invocation. What real GPUs want.
// The runtime's autotuner picks one per adapter. With the register kernel, lowering copies a large
// transposed operand row-major first (rowMajorFirst).

import { type ElementwiseProgram, programFunction, programHelpers, programOps } from "./elementwise.ts";
import {
  BUILTINS,
  broadcastStrides,
  count,
  declareBindings,
  type Kernel,
  type KernelBinding,
  NUM_WORKGROUPS,
  storageType,
} from "./kernel.ts";

export type MatmulVariant = "register" | "tiled";
export const MATMUL_VARIANTS: readonly MatmulVariant[] = ["register", "tiled"];

export interface MatmulSpec {
  readonly aShape: readonly number[];
  readonly bShape: readonly number[];
  readonly transA: boolean;
  readonly transB: boolean;
  /** The result's shape (batch axes broadcast). */
  readonly shape: readonly number[];
  /**
   * Elementwise consumers folded into the store (bias, activation, scale, mask): a program of the
   * result's shape whose operand `self` is the product; its other operands become extra bindings
   * between b and c. The stored value is the program's (f32) result.
   */
  readonly epilogue?: { readonly program: ElementwiseProgram; readonly self: number };
  /**
   * Operands stored at f16 (weights a `precision = f16` pipeline keeps at half size): read as f16,
   * converted to f32 where loaded; the product accumulates in f32.
   */
  readonly half?: { readonly a?: boolean; readonly b?: boolean };
}

/** An operand's WGSL element type: f32 or f16 storage, scalar or vec4. */
function elementType(half: boolean | undefined, vec: boolean): string {
  const t = half ? "f16" : "f32";
  return vec ? `vec4<${t}>` : t;
}

/** A load of an operand stored at f16 (`half`) widened to f32, scalar or vec4. */
function widen(load: string, half: boolean | undefined, vec: boolean): string {
  return half ? (vec ? `vec4<f32>(${load})` : `f32(${load})`) : load;
}

/** Bindings, their WGSL element types and the epilogue function (empty without one). */
function layout(spec: MatmulSpec, bType: string, cType: string) {
  const e = spec.epilogue;
  const extra: KernelBinding[] = [];
  const extraTypes: string[] = [];
  const names: string[] = [];
  if (e) {
    e.program.operands.forEach((o, k) => {
      names.push(`e${k}`);
      if (k === e.self) return;
      extra.push({ name: `e${k}`, access: "read" });
      extraTypes.push(storageType(o.dtype));
    });
  }
  const bindings: KernelBinding[] = [BINDINGS[0]!, BINDINGS[1]!, ...extra, BINDINGS[2]!];
  const types = [elementType(spec.half?.a, false), bType, ...extraTypes, cType];
  let fn = "";
  if (e) {
    fn = programFunction(e.program, "epilogue", names, e.self);
    const pre = programHelpers(fn);
    fn = `${pre ? `${pre}\n\n` : ""}${fn}\n\n`;
  }
  const store = (flat: string, v: string) => (e ? `epilogue(${flat}, ${v})` : v);
  const halves = `${spec.half?.a ? ";hA" : ""}${spec.half?.b ? ";hB" : ""}`;
  const tag = `${halves}${e ? `+${programOps(e.program)}ops` : ""}`;
  return { bindings, types, fn, store, tag };
}

interface Dims {
  m: number;
  n: number;
  k: number;
  batch: number[];
  /** The batch offsets of A and B for batch index `z`, in matrices (see batchOffset). */
  aBatch: readonly BatchTerm[];
  bBatch: readonly BatchTerm[];
}

/** One batch axis's share of an operand's offset: `coord` (WGSL, of `z`) times `matrices` of its own. */
interface BatchTerm {
  readonly coord: string;
  readonly matrices: number;
}

/**
 * WGSL of an operand's batch offset in elements, its matrices `matrix` elements each: a number baked
 * in, or a WGSL expression where the row count is read at run time.
 */
function batchOffset(terms: readonly BatchTerm[], matrix: number | string): string {
  if (terms.length === 0) return "0u";
  return terms
    .map(({ coord, matrices }) =>
      typeof matrix === "number"
        ? `${coord} * ${matrices * matrix}u`
        : `${coord} * ${matrices === 1 ? "" : `${matrices}u * `}${matrix}`,
    )
    .join(" + ");
}

function dims(s: MatmulSpec): Dims {
  const [ar, ac] = s.aShape.slice(-2) as [number, number];
  const [br, bc] = s.bShape.slice(-2) as [number, number];
  const batch = s.shape.slice(0, -2);
  const batchTerms = (own: readonly number[]) => {
    const st = broadcastStrides(own, batch);
    const terms: BatchTerm[] = [];
    let inner = 1;
    for (let i = batch.length - 1; i >= 0; i--) {
      const d = batch[i]!;
      if (d > 1 && st[i]! > 0) {
        let coord = inner === 1 ? "z" : `(z / ${inner}u)`;
        if (i > 0) coord = `(${coord} % ${d}u)`;
        terms.push({ coord, matrices: st[i]! });
      }
      inner *= d;
    }
    return terms;
  };
  return {
    m: s.transA ? ac : ar,
    k: s.transA ? ar : ac,
    n: s.transB ? br : bc,
    batch,
    aBatch: batchTerms(s.aShape.slice(0, -2)),
    bBatch: batchTerms(s.bShape.slice(0, -2)),
  };
}

const BINDINGS = [
  { name: "a", access: "read" as const },
  { name: "b", access: "read" as const },
  { name: "c", access: "read_write" as const },
];

/**
 * Each copied element reused by at least this many rows or columns of the product: a copy costs
 * about 8 ns an element on lavapipe, what the faster kernel saves on ~120 of them.
 */
const REUSE = 128;
/**
 * Smaller products fit in cache, where the strided reads cost little (measured: a transposed B is
 * 1.3-1.8x slower from 2^27 flops, even at 2^24; a transposed A only from ~2^32, at 2^28 the copy
 * lost ~5%).
 */
const MIN_FLOPS = { a: 2 ** 30, b: 2 ** 24 };

/**
 * Which transposed operands to copy row-major before the product. The register kernel reads a
 * transposed B as four k-strided scalars per vec4 and a transposed A one k-stride apart per step,
 * which thrash the cache once the operands outgrow it: up to 2.3x slower on lavapipe than the plain
 * layout, which a transpose then restores. A tile that broadcasts A reads a transposed A's rows side
 * by side (lane l row l, contiguous), as fast as the copy's layout without the copy (measured at
 * [6304,3072]^T x [6304,768], 24 x 3 broadcasting: 23.1 vs 21.6 GFLOP/s with the copy). The tiled
 * kernel stages either layout through workgroup memory, so it reads them as they are.
 */
export function rowMajorFirst(
  spec: MatmulSpec,
  variant: MatmulVariant,
  tiles: MatmulTiles = DEFAULT_MATMUL_TILES,
): { a: boolean; b: boolean } {
  const d = dims(spec);
  const flops = 2 * Math.max(1, count(d.batch)) * d.m * d.n * d.k;
  const worth = (own: readonly number[], min: number) =>
    variant === "register" && flops >= min && flops / (2 * count(own)) >= REUSE;
  return {
    a: spec.transA && !tiles[matmulShapeClass(spec)].broadcastA && worth(spec.aShape, MIN_FLOPS.a),
    b: spec.transB && worth(spec.bShape, MIN_FLOPS.b),
  };
}

/**
 * The register kernel's tile per invocation: `rows` rows of A by `cols` vec4 column groups of B.
 * Lavapipe keeps each scalar of every invocation in one SIMD register and fills it with one
 * bounds-checked load per lane, so a k step costs about rows + 4 * cols such fills against
 * 4 * rows * cols multiply-adds: larger tiles load less per flop but spill more accumulators.
 */
export interface RegisterTile {
  readonly rows: number;
  readonly cols: number;
  /** Workgroup x walks row groups (consecutive workgroups share a strip of B) instead of column groups. */
  readonly rowsFirst?: boolean;
  /**
   * Each lane reads its own rows of A and hands them to the others with subgroupBroadcast (needs
   * subgroups of exactly LANES invocations and rows a multiple of LANES): 1/8 of A's loads.
   */
  readonly broadcastA?: boolean;
}

export const DEFAULT_REGISTER_TILE: RegisterTile = { rows: 8, cols: 2 };

/** The tiles the autotuner tries for the large shape classes (without subgroups of LANES). */
export const REGISTER_TILES: readonly RegisterTile[] = [
  DEFAULT_REGISTER_TILE,
  { rows: 8, cols: 4 },
  { rows: 12, cols: 4 },
  { rows: 16, cols: 4 },
];

/**
 * Shape classes that may want different register tiles: "small" products (under a GFLOP, or too
 * narrow for a larger tile to keep its lanes and rows busy: lavapipe compiles a 12 x 4 tile in ~1.5 s
 * against ~0.3 s for 8 x 2, which only a large product repays), "deep" ones (a long k: a strip of B
 * outgrows the cache) and the rest, "wide".
 */
export type MatmulShapeClass = "small" | "wide" | "deep";
export type MatmulTiles = Readonly<Record<MatmulShapeClass, RegisterTile>>;

/**
 * Measured on lavapipe at ViT-B/16 batch-32 shapes (one process, best of several runs): 8 rows x 4
 * vec4 and 12 x 4 load 1.3-1.6x faster than 8 x 2; 24 x 4 and 16 x 6 collapse (spills).
 */
export const DEFAULT_MATMUL_TILES: MatmulTiles = {
  small: DEFAULT_REGISTER_TILE,
  wide: { rows: 12, cols: 4 },
  deep: { rows: 12, cols: 4 },
};

/**
 * The tiles the autotuner tries for the large shape classes where subgroups are exactly the
 * workgroup's LANES. Lavapipe loads storage one lane and one scalar at a time (about 7 instructions
 * each, with its bounds check); every lane reading the same row of A made A's loads 8x what they
 * need be, the most of a k step's cost. With A read once and broadcast, a k step costs mostly B's
 * 4 x cols loads and the accumulators, so taller tiles pay: 24 x 3 measured 2.0x the 16 x 4 of
 * REGISTER_TILES at ViT-B shapes on lavapipe (one process, load 4.3: [1600,768]x[768,3072] 46.0 vs
 * 22.4 GFLOP/s, [6304,768]x[768,3072] 46.3 vs 22.8, [1600,768]x[768,2304] 47.2 vs 23.8).
 */
export const BROADCAST_TILES: readonly RegisterTile[] = [
  { rows: 24, cols: 2, broadcastA: true },
  { rows: 24, cols: 2, broadcastA: true, rowsFirst: true },
  { rows: 24, cols: 3, broadcastA: true },
  { rows: 32, cols: 2, broadcastA: true },
];

/**
 * The tiles for an untuned adapter whose subgroups are exactly LANES (lavapipe): 24 x 3 was the
 * fastest of BROADCAST_TILES at ViT-B/32 shapes in one process at load 4.4 ([1600,768]x[768,3072]
 * 44.3 GFLOP/s, 32 x 2 39.6, 24 x 2 36.0; x [3072,768]^T 34.2, 32.0, 29.8) and compiles cold in
 * ~1.9 s, as 16 x 4 does (24 x 2: ~1.0 s).
 */
export const BROADCAST_MATMUL_TILES: MatmulTiles = {
  small: DEFAULT_REGISTER_TILE,
  wide: BROADCAST_TILES[2]!,
  deep: BROADCAST_TILES[2]!,
};

const DEEP_K = 2048;

export function matmulShapeClass(spec: MatmulSpec): MatmulShapeClass {
  const d = flattenBatch(dims(spec), spec);
  const flops = 2 * Math.max(1, count(d.batch)) * d.m * d.n * d.k;
  if (flops < 2 ** 30 || d.m < 96 || d.n < 128) return "small";
  return d.k >= DEEP_K ? "deep" : "wide";
}

/**
 * Whether a product should fold its elementwise consumers (bias, QuickGELU, residual) into its
 * store. The tiled kernel does. A large register product does not: on lavapipe its k loop runs
 * 1.6-2x slower once the store reads another binding (measured at [1576,768]x[768,3072] with 16 x 4:
 * 1.62 s fused vs 0.81 s plain; at 768 x 768 with a residual, 16 vs 7.4 GFLOP/s; the same with the
 * epilogue inlined or applied to a stored copy), and with QuickGELU inlined into each of its outputs
 * the shader takes tens of seconds to compile. The group then runs as its own elementwise kernel,
 * one pass over the result.
 */
export function foldsEpilogue(spec: MatmulSpec, variant: MatmulVariant): boolean {
  return variant === "tiled" || matmulShapeClass(spec) === "small";
}

export function matmulKernel(
  spec: MatmulSpec,
  variant: MatmulVariant = "register",
  tiles: MatmulTiles | RegisterTile = DEFAULT_MATMUL_TILES,
): Kernel {
  if (variant === "tiled") return tiledKernel(spec);
  return registerKernel(spec, "rows" in tiles ? tiles : tiles[matmulShapeClass(spec)]);
}

/** Invocations per workgroup of the register kernel: one SIMD batch of lavapipe's 256-bit vectors. */
export const LANES = 8;

/**
 * A batched product whose B is shared by every batch and whose A and C are contiguous is one product
 * over all the batches' rows: no row group is cut short at each batch's end (197 tokens a batch
 * leave 5 of 8 rows busy in every 25th group).
 */
function flattenBatch(d: Dims, spec: MatmulSpec): Dims {
  const batches = count(d.batch);
  if (batches <= 1 || spec.transA || d.bBatch.length > 0) return d;
  const aBatch = spec.aShape.slice(0, -2);
  if (count(aBatch) !== batches) return d;
  return { ...d, m: d.m * batches, batch: [], aBatch: [] };
}

function registerKernel(spec: MatmulSpec, tile: RegisterTile): Kernel {
  const named = dims(spec);
  const d = flattenBatch(named, spec);
  const { m, n, k } = d;
  const ROWS = tile.rows;
  if (tile.broadcastA && ROWS % LANES !== 0)
    throw new Error(`matmul tile ${ROWS} rows: broadcastA needs a multiple of ${LANES} rows`);
  const vecB = !spec.transB && n % 4 === 0;
  const vecC = n % 4 === 0;
  const n4 = Math.ceil(n / 4);
  const batches = Math.max(1, count(d.batch));
  const span = tile.cols * LANES;
  const groups = [Math.ceil(n4 / span), Math.ceil(m / ROWS)] as const;
  const dispatch: [number, number, number] = tile.rowsFirst
    ? [groups[1], groups[0], batches]
    : [groups[0], groups[1], batches];
  const [colGroup, rowGroup] = tile.rowsFirst ? ["wid.y", "wid.x"] : ["wid.x", "wid.y"];
  const hA = spec.half?.a;
  const hB = spec.half?.b;
  const L = layout(spec, elementType(hB, vecB), vecC ? "vec4<f32>" : "f32");
  const rows = Array.from({ length: ROWS }, (_, i) => i);
  const cols = Array.from({ length: tile.cols }, (_, j) => j);
  const bLoad = (j: number) => {
    if (vecB) return widen(`b[bb + k * ${n4}u + lc${j}]`, hB, true);
    const el = (q: number) =>
      widen(
        spec.transB
          ? `b[bb + min(lc${j} * 4u + ${q}u, ${n - 1}u) * ${k}u + k]`
          : `b[bb + k * ${n}u + min(lc${j} * 4u + ${q}u, ${n - 1}u)]`,
        hB,
        false,
      );
    return `vec4<f32>(${[0, 1, 2, 3].map(el).join(", ")})`;
  };
  // The row count, read at run time from C's binding so that products differing only in rows (and,
  // folded into them, in batches sharing B) share one shader. C's binding holds its batches x m x n
  // f32 values rounded up to 16 bytes (lower.ts bytesOf): at most 3 elements of padding, so from
  // n >= 4 on the quotient by a row (times the launched batches) is exact. Narrower products bake m.
  // Lavapipe's k loop is the same length either way (24 x 3 at [1600,768]x[768,3072]: 3114 -> 3094
  // instructions) and runs as fast (within the noise of a second baked pipeline, one process); the UEO
  // quickstart compiles 31 matmul shaders instead of 42, its training warm-up 43 -> 29 s cold.
  const runTimeRows = n >= 4;
  const M = runTimeRows ? "m" : `${m}u`;
  const rowCount = `arrayLength(&c) / ${batches > 1 ? `(${vecC ? n4 : n}u * nwg.z)` : `${vecC ? n4 : n}u`}`;
  const clampRow = (row: string) => `min(${row}, ${runTimeRows ? "m - 1u" : `${m - 1}u`})`;
  const rowOffset = (row: string) => (spec.transA ? `aa + ${row}` : `aa + ${row} * ${k}u`);
  const aAt = (offset: string) =>
    widen(spec.transA ? `a[${offset} + k * ${M}]` : `a[${offset} + k]`, hA, false);
  // With broadcastA, lane l reads row row0 + 8p + l and row i is lane i % 8's value of read i / 8.
  const reads = tile.broadcastA ? ROWS / LANES : ROWS;
  const aRead = (p: number) =>
    aAt(tile.broadcastA ? rowOffset(clampRow(`row0 + ${p * LANES}u + lid.x`)) : `ra${p}`);
  const aValue = (i: number) => (tile.broadcastA ? `subgroupBroadcast(a${i >> 3}, ${i & 7}u)` : `a${i}`);
  const lines = [
    `@compute @workgroup_size(${LANES})`,
    `fn main(${BUILTINS}${runTimeRows && batches > 1 ? `, ${NUM_WORKGROUPS}` : ""}) {`,
    "  let z = wid.z;",
    ...(runTimeRows ? [`  let m = ${rowCount};`] : []),
    `  let aa = ${batchOffset(d.aBatch, runTimeRows ? `m * ${k}u` : m * k)};`,
    `  let bb = ${vecB ? `(${batchOffset(d.bBatch, k * n)}) / 4u` : batchOffset(d.bBatch, k * n)};`,
    `  let cc = z * ${runTimeRows ? `m * ${n}u` : `${m * n}u`};`,
    `  let row0 = ${rowGroup} * ${ROWS}u;`,
    ...cols.map((j) => `  let c${j} = ${colGroup} * ${span}u + lid.x${j > 0 ? ` + ${j * LANES}u` : ""};`),
    ...cols.map((j) => `  let lc${j} = min(c${j}, ${n4 - 1}u);`),
    ...(tile.broadcastA ? [] : rows.map((i) => `  let ra${i} = ${rowOffset(clampRow(`row0 + ${i}u`))};`)),
    ...rows.flatMap((i) => cols.map((j) => `  var acc${i}_${j} = vec4<f32>(0.0f);`)),
    `  for (var k = 0u; k < ${k}u; k++) {`,
    ...cols.map((j) => `    let b${j} = ${bLoad(j)};`),
    ...Array.from({ length: reads }, (_, p) => `    let a${p} = ${aRead(p)};`),
    ...rows.flatMap((i) => cols.map((j) => `    acc${i}_${j} += ${aValue(i)} * b${j};`)),
    "  }",
    ...rows.flatMap((i) => {
      const out = [`  if (row0 + ${i}u < ${M}) {`];
      for (const j of cols) {
        if (vecC) {
          const f = `cc + (row0 + ${i}u) * ${n}u + c${j} * 4u`;
          const v = spec.epilogue
            ? `vec4<f32>(${[0, 1, 2, 3].map((q) => L.store(q === 0 ? `f${j}` : `f${j} + ${q}u`, `acc${i}_${j}.${"xyzw"[q]}`)).join(", ")})`
            : `acc${i}_${j}`;
          out.push(
            `    if (c${j} < ${n4}u) {`,
            ...(spec.epilogue ? [`      let f${j} = ${f};`] : []),
            `      c[cc / 4u + (row0 + ${i}u) * ${n4}u + c${j}] = ${v};`,
            "    }",
          );
        } else {
          for (let q = 0; q < 4; q++) {
            const comp = "xyzw"[q];
            out.push(
              `    if (c${j} * 4u + ${q}u < ${n}u) {`,
              `      c[cc + (row0 + ${i}u) * ${n}u + c${j} * 4u + ${q}u] = ${L.store(`cc + (row0 + ${i}u) * ${n}u + c${j} * 4u + ${q}u`, `acc${i}_${j}.${comp}`)};`,
              "    }",
            );
          }
        }
      }
      out.push("  }");
      return out;
    }),
    "}",
  ];
  const tileTag =
    tile.rows === DEFAULT_REGISTER_TILE.rows &&
    tile.cols === DEFAULT_REGISTER_TILE.cols &&
    !tile.rowsFirst &&
    !tile.broadcastA
      ? ""
      : `;r${tile.rows}c${tile.cols}${tile.rowsFirst ? "y" : ""}${tile.broadcastA ? "s" : ""}`;
  return {
    name: `matmul_register[${named.batch.length ? `${named.batch.join("x")}x` : ""}${named.m}x${k}x${n}${spec.transA ? ";tA" : ""}${spec.transB ? ";tB" : ""}${tileTag}${L.tag}]`,
    code: `${tile.broadcastA ? "enable subgroups;\n\n" : ""}${declareBindings(L.bindings, L.types)}\n\n${L.fn}${lines.join("\n")}\n`,
    bindings: L.bindings,
    workgroupSize: [LANES, 1, 1],
    dispatch,
  };
}

const TILE = 64;
const TK = 16;

function tiledKernel(spec: MatmulSpec): Kernel {
  const d = dims(spec);
  const { m, n, k } = d;
  const batches = Math.max(1, count(d.batch));
  const dispatch: [number, number, number] = [Math.ceil(n / TILE), Math.ceil(m / TILE), batches];
  const L = layout(spec, elementType(spec.half?.b, false), "f32");
  const aEl = (row: string, kk: string) =>
    widen(
      spec.transA ? `a[aa + (${kk}) * ${m}u + ${row}]` : `a[aa + (${row}) * ${k}u + ${kk}]`,
      spec.half?.a,
      false,
    );
  const bEl = (kk: string, col: string) =>
    widen(
      spec.transB ? `b[bb + (${col}) * ${k}u + ${kk}]` : `b[bb + (${kk}) * ${n}u + ${col}]`,
      spec.half?.b,
      false,
    );
  const lines = [
    `var<workgroup> as_: array<array<f32, ${TILE}>, ${TK}>;`,
    `var<workgroup> bs_: array<array<f32, ${TILE}>, ${TK}>;`,
    "",
    "@compute @workgroup_size(16, 16)",
    `fn main(${BUILTINS}) {`,
    "  let z = wid.z;",
    `  let aa = ${batchOffset(d.aBatch, m * k)};`,
    `  let bb = ${batchOffset(d.bBatch, k * n)};`,
    `  let cc = z * ${m * n}u;`,
    `  let row0 = wid.y * ${TILE}u;`,
    `  let col0 = wid.x * ${TILE}u;`,
    "  let t = lid.y * 16u + lid.x;",
    "  var acc: array<array<f32, 4>, 4>;",
    `  for (var k0 = 0u; k0 < ${k}u; k0 += ${TK}u) {`,
    "    for (var l = 0u; l < 4u; l++) {",
    "      let e = t * 4u + l;",
    `      let kk = e / ${TILE}u;`,
    `      let x = e % ${TILE}u;`,
    "      let gk = k0 + kk;",
    `      as_[kk][x] = select(0.0f, ${aEl(`min(row0 + x, ${m - 1}u)`, `min(gk, ${k - 1}u)`)}, row0 + x < ${m}u && gk < ${k}u);`,
    `      bs_[kk][x] = select(0.0f, ${bEl(`min(gk, ${k - 1}u)`, `min(col0 + x, ${n - 1}u)`)}, col0 + x < ${n}u && gk < ${k}u);`,
    "    }",
    "    workgroupBarrier();",
    `    for (var kk = 0u; kk < ${TK}u; kk++) {`,
    "      var av: array<f32, 4>;",
    "      var bv: array<f32, 4>;",
    "      for (var i = 0u; i < 4u; i++) {",
    "        av[i] = as_[kk][lid.y * 4u + i];",
    "        bv[i] = bs_[kk][lid.x * 4u + i];",
    "      }",
    "      for (var i = 0u; i < 4u; i++) {",
    "        for (var j = 0u; j < 4u; j++) {",
    "          acc[i][j] = fma(av[i], bv[j], acc[i][j]);",
    "        }",
    "      }",
    "    }",
    "    workgroupBarrier();",
    "  }",
    "  for (var i = 0u; i < 4u; i++) {",
    "    let r = row0 + lid.y * 4u + i;",
    "    for (var j = 0u; j < 4u; j++) {",
    "      let col = col0 + lid.x * 4u + j;",
    `      if (r < ${m}u && col < ${n}u) {`,
    `        c[cc + r * ${n}u + col] = ${L.store(`cc + r * ${n}u + col`, "acc[i][j]")};`,
    "      }",
    "    }",
    "  }",
    "}",
  ];
  return {
    name: `matmul_tiled[${d.batch.length ? `${d.batch.join("x")}x` : ""}${m}x${k}x${n}${spec.transA ? ";tA" : ""}${spec.transB ? ";tB" : ""}${L.tag}]`,
    code: `${declareBindings(L.bindings, L.types)}\n\n${L.fn}${lines.join("\n")}\n`,
    bindings: L.bindings,
    workgroupSize: [16, 16, 1],
    dispatch,
  };
}
