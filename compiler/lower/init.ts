// The initial values of parameters that no checkpoint holds (adapters' parameters), as a graph the
// runtime evaluates once: each `extern init` of stdlib/nn.vlmp written with constants and the graph's
// counter-based random ops. Every parameter draws from its own Philox key (the seed in the low 32 bits,
// a hash of the parameter's name above), so adding an adapter never changes another's initial values.
// Two initialisers need the host: `words` (the backbone's token embeddings of the tokenised words: the
// graph reads the token-embedding parameter and takes the ids as an input `<key>:ids`) and `text_stats`
// (CLAP4CLIP's statistics of text features: an input `<key>:text_stats`).

import { GraphBuilder } from "../graph/builder.ts";
import type { Graph, Value } from "../graph/graph.ts";
import { LoweringError } from "./errors.ts";
import type { InitSpec, ModelParam } from "./instance.ts";

export interface InitGraph {
  /** Outputs named by parameter key: the initial value of each parameter. */
  readonly graph: Graph;
  readonly values: ReadonlyMap<string, Value>;
  /** Inputs the host fills: `<key>:ids` (i32 token ids of `words`), `<key>:text_stats`. */
  readonly inputs: ReadonlyMap<string, Value>;
  /** Backbone parameters the initialisers read (the token embeddings), by key. */
  readonly params: ReadonlyMap<string, Value>;
}

/** 21 bits of FNV-1a of `name`: the high word of a parameter's Philox key (keeps seeds below 2^53). */
function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h & 0x1fffff;
}

export function philoxSeed(seed: number, name: string): number {
  return nameHash(name) * 2 ** 32 + (seed >>> 0);
}

/**
 * The initial values of `params` (those with an initialiser) for `seed`. `tokenEmbedding` is the
 * backbone's token-embedding parameter, needed by `words` initialisers.
 */
export function initGraph(
  params: readonly ModelParam[],
  seed: number,
  options: { tokenEmbedding?: ModelParam } = {},
): InitGraph {
  const b = new GraphBuilder();
  const values = new Map<string, Value>();
  const inputs = new Map<string, Value>();
  const backbone = new Map<string, Value>();
  for (const p of params) {
    if (!p.init) continue;
    const v = initValue(b, p, p.init, philoxSeed(seed, p.key), inputs, backbone, options.tokenEmbedding);
    values.set(p.key, v);
    b.output(p.key, v);
  }
  return { graph: b.build(), values, inputs, params: backbone };
}

function initValue(
  b: GraphBuilder,
  p: ModelParam,
  init: InitSpec,
  seed: number,
  inputs: Map<string, Value>,
  backbone: Map<string, Value>,
  tokenEmbedding: ModelParam | undefined,
): Value {
  const { shape } = p;
  const fail = (reason: string): never => {
    throw new LoweringError("unsupported", p.key, `${init.kind}(…)`, reason);
  };
  const num = (name: string, fallback?: number): number => {
    const v = init.args[name] ?? fallback;
    if (typeof v !== "number") return fail(`'${name}' must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const uniform = (low: number, high: number) => b.add(b.mul(b.randomUniform(shape, seed), high - low), low);
  const normal = (std: number, mean: number) => b.add(b.mul(b.randomNormal(shape, seed), std), mean);
  switch (init.kind) {
    case "zeros":
      return b.full(shape, 0);
    case "ones":
      return b.full(shape, 1);
    case "fill":
      return b.full(shape, num("value"));
    case "normal":
      return normal(num("std", 1), num("mean", 0));
    case "uniform":
      return uniform(num("low"), num("high"));
    case "torch_linear": {
      const bound = 1 / Math.sqrt(num("fan_in"));
      return uniform(-bound, bound);
    }
    case "xavier_uniform": {
      // PyTorch: fan_in = size(1)·receptive field, fan_out = size(0)·receptive field.
      if (shape.length < 2) return fail("xavier_uniform needs a matrix");
      const field = shape.slice(2).reduce((a, d) => a * d, 1);
      const bound = Math.sqrt(6 / (shape[1]! * field + shape[0]! * field));
      return uniform(-bound, bound);
    }
    case "identity": {
      const n = shape[shape.length - 1]!;
      if (shape.length < 2 || shape[shape.length - 2] !== n) return fail("identity needs square matrices");
      const eye = b.cast(b.eq(b.iota([n, n], 0), b.iota([n, n], 1)), "f32");
      return b.broadcast(eye, shape);
    }
    case "words": {
      const words = init.args["words"];
      if (words === "" || words === undefined) return normal(num("std", 0.02), 0);
      const count = num("count");
      if (!tokenEmbedding) return fail("words needs the backbone's token embeddings");
      if (shape.length !== 2 || shape[0] !== count || shape[1] !== tokenEmbedding.shape[1]) {
        fail(
          `a [${shape.join(", ")}] parameter cannot hold ${count} token embeddings of width ${tokenEmbedding.shape[1]}`,
        );
      }
      let table = backbone.get(tokenEmbedding.key);
      if (!table) {
        table = b.param(tokenEmbedding.key, tokenEmbedding.shape, { trainable: false });
        backbone.set(tokenEmbedding.key, table);
      }
      const ids = b.input(`${p.key}:ids`, [count], "i32");
      inputs.set(`${p.key}:ids`, ids);
      return b.gather(table, ids, 0);
    }
    case "text_stats": {
      // Disabled: PyTorch nn.Linear's default for each task's E → E map (fan_in = the last axis).
      const bound = 1 / Math.sqrt(shape[shape.length - 1] ?? 1);
      if (init.args["enabled"] === false) return uniform(-bound, bound);
      const stats = b.input(`${p.key}:text_stats`, shape);
      inputs.set(`${p.key}:text_stats`, stats);
      return stats;
    }
    default:
      return fail(
        `no initialiser '${init.kind}' (known: zeros, ones, fill, normal, uniform, torch_linear, xavier_uniform, identity, words, text_stats)`,
      );
  }
}
