// Kernel benchmarks on the WebGPU device next to PyTorch CPU in the same run: matmul at 1024^3 and
// at CLIP ViT-B/32 batch-32 shapes, the ViT-B/16 batch-32 MLP with the weight as nn.Linear stores it
// (x @ W^T, its weight gradient dy^T @ x, and the plain layout to compare), softmax and layernorm
// rows, plain and with an elementwise producer folded in. PyTorch times the plain a @ b at every matmul's sizes (BLAS reads either layout as fast).
// VLMP_BENCH_KERNELS=<text>[,<text>...] runs only the cases whose name contains one of them. Kernel
// time only (feeds stay on the device; each case's dispatches repeated in one command buffer); the
// host sleeps while the device works, so the waiting never steals a core from lavapipe.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { gradients } from "../compiler/graph/autodiff.ts";
import { GraphBuilder } from "../compiler/graph/builder.ts";
import { attention, layerNorm, softmax } from "../compiler/graph/composites.ts";
import type { Graph, ValueId } from "../compiler/graph/graph.ts";
import { acquireDevice, type Device } from "../runtime/device/device.ts";
import { autotune } from "../runtime/executor/autotune.ts";
import { createExecutor, type Executor } from "../runtime/executor/executor.ts";
import type { Tensor } from "../runtime/reference/tensor.ts";
import { blockLoss, clipBlock } from "./clip-block.ts";

interface Case {
  readonly name: string;
  readonly kind: "matmul" | "softmax" | "layernorm" | "attention" | "block";
  readonly shape: readonly number[];
  /** Which matmul operand is stored transposed ([n, k] for B, [k, m] for A). */
  readonly trans?: "A" | "B";
  /** B is a weight held at f16 (`precision = f16`), read by the matmul as it lies. */
  readonly halfB?: boolean;
  /**
   * An elementwise producer that lowering folds into the row kernel: softmax(x * 0.125 + mask), the mask
   * [tokens, tokens] broadcast over heads; layernorm(x + residual). PyTorch times the row op alone.
   */
  readonly folded?: boolean;
  /** Work per run: flops for matmul, bytes moved (one read, one write) otherwise. */
  readonly work: number;
  readonly unit: "GFLOP/s" | "GB/s";
}

const ALL_CASES: readonly Case[] = [
  matmul("matmul 1024x1024x1024", 1024, 1024, 1024),
  matmul("matmul [1600,768]x[768,2304] (ViT-B/32 qkv)", 1600, 768, 2304),
  matmul("matmul [1600,768]x[768,3072] (ViT-B/32 mlp up)", 1600, 768, 3072),
  matmul("matmul [6304,768]x[768,3072] (ViT-B/16 mlp up)", 6304, 768, 3072),
  matmul("matmul [6304,768]x[3072,768]^T (ViT-B/16 mlp up)", 6304, 768, 3072, "B"),
  {
    ...matmul("matmul [1600,768]x[3072,768]^T f16 B (ViT-B/32 mlp up, precision f16)", 1600, 768, 3072, "B"),
    halfB: true,
  },
  { ...matmul("matmul [1600,768]x[3072,768]^T f32 B (the same at f32)", 1600, 768, 3072, "B") },
  matmul("matmul [6304,3072]x[768,3072]^T (ViT-B/16 mlp down)", 6304, 3072, 768, "B"),
  matmul("matmul [6304,3072]^Tx[6304,768] (ViT-B/16 mlp up dW)", 3072, 6304, 768, "A"),
  rows("softmax", "softmax [4096,1024]", [4096, 1024]),
  rows("softmax", "softmax [19200,50] (ViT-B/32 attention)", [19200, 50]),
  { ...rows("softmax", "softmax [384,50,50] scale+mask folded (torch: alone)", [384, 50, 50]), folded: true },
  rows("layernorm", "layernorm [1600,768] (ViT-B/32)", [1600, 768]),
  { ...rows("layernorm", "layernorm [1600,768] residual folded (torch: alone)", [1600, 768]), folded: true },
  rows("layernorm", "layernorm [4096,1024]", [4096, 1024]),
  attentionCase("attention [384,50,64] (ViT-B/32, fused)", 384, 50, 64),
  attentionCase("attention [384,197,64] (ViT-B/16, fused)", 384, 197, 64),
  {
    name: "ViT-B/32 block fwd+bwd [32,50,768], 12 heads",
    kind: "block",
    shape: [32, 50, 768, 12],
    work: blockFlops(32, 50, 768, 12),
    unit: "GFLOP/s",
  },
];

const only = process.env["VLMP_BENCH_KERNELS"]?.split(",").map((s) => s.trim());
const CASES = only ? ALL_CASES.filter((c) => only.some((o) => c.name.includes(o))) : ALL_CASES;

/** Matmul and attention flops of a block's forward, times 3 for forward + backward. */
function blockFlops(batch: number, tokens: number, width: number, heads: number): number {
  const n = batch * tokens;
  const linear = 2 * n * width * (3 * width + width + 4 * width + 4 * width);
  const attn = 4 * batch * heads * tokens * tokens * (width / heads);
  return 3 * (linear + attn);
}

function matmul(name: string, m: number, k: number, n: number, trans?: "A" | "B"): Case {
  return {
    name,
    kind: "matmul",
    shape: [m, k, n],
    ...(trans ? { trans } : {}),
    work: 2 * m * k * n,
    unit: "GFLOP/s",
  };
}

/** Fused attention over batch*heads sequences of `tokens`: QK^T and PV, 2 flops a multiply-add each. */
function attentionCase(name: string, sequences: number, tokens: number, headDim: number): Case {
  return {
    name,
    kind: "attention",
    shape: [sequences, tokens, headDim],
    work: 4 * sequences * tokens * tokens * headDim,
    unit: "GFLOP/s",
  };
}

function rows(kind: "softmax" | "layernorm", name: string, shape: number[]): Case {
  return { name, kind, shape, work: 2 * 4 * shape.reduce((a, d) => a * d, 1), unit: "GB/s" };
}

/** Standard normal inputs, as PyTorch's side draws them (row kernels; their buffers are zeros otherwise). */
function normalFeeds(graph: Graph): Map<ValueId, Tensor> {
  const normal = () => Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
  const feeds = new Map<ValueId, Tensor>();
  for (const n of graph.nodes) {
    if (n.op !== "input") continue;
    const data = Float64Array.from({ length: n.shape.reduce((a, d) => a * d, 1) }, normal);
    feeds.set(n.id, { shape: n.shape, data });
  }
  return feeds;
}

function graphOf(c: Case): Graph {
  const b = new GraphBuilder();
  if (c.kind === "matmul") {
    const [m, k, n] = c.shape as [number, number, number];
    const a = b.input("a", c.trans === "A" ? [k, m] : [m, k]);
    const shape = c.trans === "B" ? [n, k] : [k, n];
    const w = c.halfB
      ? b.cast(b.param("b", shape, { trainable: false, dtype: "f16" }), "f32")
      : b.input("b", shape);
    b.output("y", b.matmul(a, w, { transA: c.trans === "A", transB: c.trans === "B" }));
  } else if (c.kind === "softmax") {
    const x = b.input("x", c.shape);
    const t = c.shape.slice(-2);
    b.output("y", softmax(b, c.folded ? b.add(b.mul(x, 0.125), b.input("mask", t)) : x));
  } else if (c.kind === "attention") {
    const [bh, l, d] = c.shape as [number, number, number];
    b.output("y", attention(b, b.input("q", [bh, l, d]), b.input("k", [bh, l, d]), b.input("v", [bh, l, d])));
  } else if (c.kind === "block") {
    const [batch, tokens, width, heads] = c.shape as [number, number, number, number];
    const { graph, loss } = blockLoss(clipBlock(batch, tokens, width, heads));
    return gradients(graph, loss).graph;
  } else {
    const d = c.shape[1]!;
    const x = b.input("x", c.shape);
    const input = c.folded ? b.add(x, b.input("residual", c.shape)) : x;
    b.output("y", layerNorm(b, input, b.input("g", [d]), b.input("b", [d])));
  }
  return b.build();
}

/** Median seconds per run of the case's kernels, dispatched `reps` times per command buffer. */
async function timeCase(device: Device, ex: Executor, c: Case): Promise<number> {
  const graph = graphOf(c);
  const prepared = await ex.prepare(graph);
  if (c.kind === "softmax" || c.kind === "layernorm") await ex.evaluate(graph, normalFeeds(graph));
  ex.dispatchOnly(prepared, 1);
  await device.settle();
  let t0 = performance.now();
  ex.dispatchOnly(prepared, 1);
  await device.settle();
  const once = performance.now() - t0;
  const reps = Math.max(1, Math.min(200, Math.round(300 / once)));
  const samples: number[] = [];
  let expected = once * reps;
  for (let i = 0; i < 5; i++) {
    t0 = performance.now();
    ex.dispatchOnly(prepared, reps);
    await device.settle(expected * 0.9);
    const ms = performance.now() - t0;
    expected = Math.min(expected, ms);
    samples.push(ms / reps / 1000);
  }
  samples.sort((a, b) => a - b);
  return samples[2]!;
}

interface TorchResult {
  torch: string;
  threads: number;
  blas: string;
  cases: Record<string, number>;
}

function runTorch(cases: readonly Case[]): TorchResult | string {
  const python = "/usr/bin/python3";
  if (!existsSync(python)) return `${python} not found`;
  const script = fileURLToPath(new URL("./ref/kernels_reference.py", import.meta.url));
  const arg = JSON.stringify(cases.map((c) => ({ name: c.name, kind: c.kind, shape: c.shape })));
  const r = spawnSync(python, [script, arg], { encoding: "utf8", timeout: 600_000 });
  if (r.status !== 0)
    return `PyTorch reference failed: ${(r.stderr || r.error?.message || "").trim().split("\n").at(-1)}`;
  return JSON.parse(r.stdout) as TorchResult;
}

/** Seconds per dispatch of a one-workgroup kernel, 400 per command buffer: the fixed cost of a dispatch. */
async function dispatchCost(device: Device, ex: Executor): Promise<number> {
  const b = new GraphBuilder();
  b.output("y", b.add(b.input("x", [4]), 1));
  const prepared = await ex.prepare(b.build());
  ex.dispatchOnly(prepared, 1);
  await device.settle();
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    ex.dispatchOnly(prepared, 400);
    await device.settle();
    samples.push((performance.now() - t0) / 400 / 1000);
  }
  return samples.sort((x, y) => x - y)[2]!;
}

export interface KernelBenchRow {
  readonly name: string;
  readonly unit: string;
  readonly vlmp: number;
  readonly torch: number | undefined;
}

export async function benchKernels(log: (line: string) => void = console.log): Promise<KernelBenchRow[]> {
  let device: Device;
  try {
    device = await acquireDevice();
  } catch (e) {
    log(`kernels: skipped (${(e as Error).message})`);
    return [];
  }
  const rowsOut: KernelBenchRow[] = [];
  try {
    const tuned = await autotune(device);
    const ex = await createExecutor(device, tuned);
    const adapter = `${device.info.description || device.info.device}`;
    const vlmp = new Map<string, number>();
    for (const c of CASES) vlmp.set(c.name, await timeCase(device, ex, c));
    const perDispatch = await dispatchCost(device, ex);
    const blockCase = CASES.find((c) => c.kind === "block");
    const blockKernels = blockCase ? (await ex.prepare(graphOf(blockCase))).plan.steps.length : 0;
    ex.release();
    const torch = runTorch(CASES);
    const torchNote = typeof torch === "string" ? torch : `PyTorch ${torch.torch}, ${torch.threads} threads`;
    // PyTorch's two OpenMP threads collapse when other work shares the cores (softmax 20 -> 1.7 GB/s at
    // load 9) while lavapipe's pool degrades gently: ratios only mean something at a low load.
    const load = loadavg()[0]!.toFixed(1);
    log(`kernels on ${adapter} (matmul variant: ${tuned.matmul}) vs ${torchNote}, load ${load}:`);
    for (const c of CASES) {
      const mine = c.work / vlmp.get(c.name)! / 1e9;
      const ref = typeof torch === "string" ? undefined : c.work / torch.cases[c.name]! / 1e9;
      rowsOut.push({ name: c.name, unit: c.unit, vlmp: mine, torch: ref });
      const ratio = ref === undefined ? "" : ` · ${(mine / ref).toFixed(2)}x`;
      const refText = ref === undefined ? "" : ` · torch ${ref.toFixed(1)} ${c.unit}`;
      log(`  ${c.name.padEnd(48)} vlmp ${mine.toFixed(1).padStart(6)} ${c.unit}${refText}${ratio}`);
    }
    const blockS = blockCase ? vlmp.get(blockCase.name)! : 0;
    const share = blockCase
      ? `; the block's ${blockKernels} kernels: ${((100 * blockKernels * perDispatch) / blockS).toFixed(1)}% of its ${(blockS * 1000).toFixed(0)} ms`
      : "";
    log(
      `  dispatch: ${(perDispatch * 1e6).toFixed(0)} µs each (one-workgroup kernel, 400 per command buffer)${share}`,
    );
  } finally {
    device.destroy();
  }
  return rowsOut;
}
