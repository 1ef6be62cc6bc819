// One CLIP transformer block (OpenAI's ResidualAttentionBlock) as a graph: x + attn(ln_1(x)), then
// + c_proj(QuickGELU(c_fc(ln_2(x)))), with torch.nn.MultiheadAttention's weights. Shared by the
// kernel benchmarks (ViT-B/32 shapes) and the fusion tests (small shapes).

import { GraphBuilder } from "../compiler/graph/builder.ts";
import { layerNorm, quickGelu } from "../compiler/graph/composites.ts";
import type { Graph, Value, ValueId } from "../compiler/graph/graph.ts";
import { linear, multiHeadAttention } from "../compiler/graph/layers.ts";

export interface BlockGraph {
  readonly graph: Graph;
  readonly x: Value;
  readonly y: Value;
  /** The block's params in creation order. */
  readonly params: readonly Value[];
}

export function clipBlock(
  batch: number,
  tokens: number,
  width: number,
  heads: number,
  opts: { causal?: boolean; trainable?: boolean } = {},
): BlockGraph {
  const b = new GraphBuilder();
  const params: Value[] = [];
  const p = (name: string, shape: number[]) => {
    const v = b.param(name, shape, { trainable: opts.trainable ?? true });
    params.push(v);
    return v;
  };
  const x = b.input("x", [batch, tokens, width]);
  const lin = (name: string, out: number, inp: number) => ({
    weight: p(`${name}.weight`, [out, inp]),
    bias: p(`${name}.bias`, [out]),
  });
  const ln1 = layerNorm(b, x, p("ln_1.weight", [width]), p("ln_1.bias", [width]));
  const attn = multiHeadAttention(
    b,
    ln1,
    ln1,
    {
      q: lin("q", width, width),
      k: lin("k", width, width),
      v: lin("v", width, width),
      out: lin("out", width, width),
    },
    heads,
    opts.causal ? { causal: true } : {},
  );
  const h = b.add(x, attn);
  const ln2 = layerNorm(b, h, p("ln_2.weight", [width]), p("ln_2.bias", [width]));
  const fc = lin("c_fc", 4 * width, width);
  const proj = lin("c_proj", width, 4 * width);
  const y = b.add(h, linear(b, quickGelu(b, linear(b, ln2, fc.weight, fc.bias)), proj.weight, proj.bias));
  b.output("y", y);
  return { graph: b.build(), x, y, params };
}

/** The block's loss for forward+backward: sum(y * t) with a fixed input t of y's shape. */
export function blockLoss(block: BlockGraph): { graph: Graph; loss: ValueId; target: ValueId } {
  const b = GraphBuilder.from(block.graph);
  const t = b.input("t", block.y.shape);
  const loss = b.sum(b.mul(block.y, t));
  b.output("loss", loss);
  return { graph: b.build(), loss: loss.id, target: t.id };
}
