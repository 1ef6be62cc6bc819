import { expect, it } from "vitest";
import { parseSource } from "../../grammar/parse.ts";
import { formatSource } from "../../grammar/print.ts";
import { SAMPLES } from "./parser-properties.ts";

/** A spec of about `lines` lines, made of the sample programs with their names made unique. */
function generatedSpec(lines: number): string {
  const parts: string[] = [];
  let count = 0;
  for (let i = 0; count < lines; i++) {
    for (const text of SAMPLES.values()) {
      const renamed = text.replace(
        /^(pipeline|loss|fn|model|adapter|block|extern \w+) (\w+)/gm,
        `$1 $2_${i}`,
      );
      parts.push(renamed);
      count += renamed.split("\n").length;
      if (count >= lines) break;
    }
  }
  return parts.join("\n");
}

it("parses a 1,000-line spec quickly (target ~10–20 ms; the bound is loose for CI)", () => {
  const text = generatedSpec(1000);
  expect(parseSource(text, "big.vlmp").problems).toEqual([]);
  for (let i = 0; i < 5; i++) parseSource(text, "big.vlmp"); // warm up the JIT
  const runs = 10;
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) parseSource(text, "big.vlmp");
  const ms = (performance.now() - t0) / runs;
  const t1 = performance.now();
  formatSource(parseSource(text, "big.vlmp").ast);
  const fmtMs = performance.now() - t1;
  console.log(`1,000-line spec: parse ${ms.toFixed(1)} ms, parse+format ${fmtMs.toFixed(1)} ms`);
  expect(ms).toBeLessThan(100);
});
