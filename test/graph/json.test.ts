// The JSON form round-trips, and the loader rejects malformed input with a typed error; the
// text dump shows every node with its type, operands, attributes, composite tag and location.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { attention, crossEntropy } from "../../compiler/graph/composites.ts";
import { GraphJsonError } from "../../compiler/graph/errors.ts";
import { formatGraph } from "../../compiler/graph/format.ts";
import type { Graph } from "../../compiler/graph/graph.ts";
import { graphFromJson, graphToJson } from "../../compiler/graph/json.ts";

const span = { file: "ueo.vlmp", line: 7, col: 3, endLine: 7, endCol: 19 };

function sample(): Graph {
  const b = new GraphBuilder();
  const q = b.input("q", [2, 3, 4]);
  const labels = b.input("labels", [2, 3], "i32");
  const w = b.param("w", [4, 4]);
  const h = b.withSpan(span, () => attention(b, b.matmul(q, w), q, q, { causal: true }));
  b.output("loss", crossEntropy(b, b.reshape(h, [2, 3, 4]), labels, { labelSmoothing: 0.1 }));
  b.output("pad", b.pad(h, [0, 1, 0], [0, 0, 0], Number.NEGATIVE_INFINITY));
  return b.build();
}

describe("JSON form", () => {
  it("round-trips through JSON text, non-finite numbers included", () => {
    const g = sample();
    const text = JSON.stringify(graphToJson(g));
    expect(text).toContain('"-Infinity"');
    const back = graphFromJson(JSON.parse(text));
    expect(back).toEqual(g);
  });

  it("rejects malformed input with GraphJsonError naming the path", () => {
    const good = graphToJson(sample()) as { nodes: Record<string, unknown>[] };
    const broken = (f: (j: { nodes: Record<string, unknown>[]; [k: string]: unknown }) => void) => {
      const j = structuredClone(good) as { nodes: Record<string, unknown>[] };
      f(j);
      return j;
    };
    const cases: [unknown, RegExp][] = [
      [null, /\$: expected an object/],
      [broken((j) => (j["vlmp_graph"] = 2)), /\$\.vlmp_graph/],
      [broken((j) => (j.nodes[0]!["op"] = "conv")), /\$\.nodes\[0\]\.op: unknown op 'conv'/],
      [broken((j) => (j.nodes[1]!["dtype"] = "f64")), /\$\.nodes\[1\]\.dtype/],
      [broken((j) => (j.nodes[3]!["attrs"] = { transA: 1, transB: false })), /\$\.nodes\[3\]\.attrs/],
      [broken((j) => (j.nodes[3]!["shape"] = [2, 3, 5])), /rule gives/],
      [broken((j) => (j.nodes[3]!["inputs"] = [99, 2])), /before its definition/],
      [broken((j) => (j["outputs"] = [{ name: "x" }])), /\$\.outputs\[0\]\.value/],
    ];
    for (const [json, message] of cases) {
      expect(() => graphFromJson(json)).toThrow(GraphJsonError);
      expect(() => graphFromJson(json)).toThrow(message);
    }
  });

  it("never throws anything but GraphJsonError on arbitrary JSON", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (j) => {
        try {
          graphFromJson(j);
        } catch (e) {
          expect(e).toBeInstanceOf(GraphJsonError);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("text dump", () => {
  it("prints one line per node with type, operands, attributes, tag and location", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [2, 3]);
    const w = b.param("w", [3], { trainable: false });
    b.withSpan(span, () => b.output("y", b.sum(b.mul(x, w), [1], true)));
    expect(formatGraph(b.build())).toBe(
      [
        "graph {",
        '  %0: f32[2,3] = input "x"',
        '  %1: f32[3] = param "w" {trainable=false}',
        "  %2: f32[2,3] = mul %0, %1  @ ueo.vlmp:7:3",
        "  %3: f32[2,1] = sum %2 {axes=[1], keepdims=true}  @ ueo.vlmp:7:3",
        "  outputs: y=%3",
        "}",
        "",
      ].join("\n"),
    );
    expect(formatGraph(sample())).toMatch(/= select %\d+, %\d+, %\d+ {2}\[attention#0\] {2}@ ueo\.vlmp:7:3/);
  });
});
