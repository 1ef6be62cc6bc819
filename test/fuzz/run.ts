// `npm run fuzz`: the grammar's properties (test/grammar/fuzz-properties.ts) and the whole front end's
// (test/compiler/compile-properties.ts: mutations of every bundled spec through parse, check and lint)
// over 100,000 cases in all, shared out by weight. Usage: tsx test/fuzz/run.ts [cases] [seed]

import fc from "fast-check";
import { compileProperty } from "../compiler/compile-properties.ts";
import { WEIGHTS as GRAMMAR_WEIGHTS, properties as grammarProperties } from "../grammar/fuzz-properties.ts";

const properties = { ...grammarProperties, compileMutatedBundledSpec: compileProperty };
// Checking a whole spec costs about 20 parses, hence its small share.
const WEIGHTS: Record<string, number> = { ...GRAMMAR_WEIGHTS, compileMutatedBundledSpec: 0.3 };

const total = Number(process.argv[2] ?? 100_000);
const seed = process.argv[3] === undefined ? Date.now() % 2 ** 31 : Number(process.argv[3]);
const totalWeight = Object.values(WEIGHTS).reduce((a, b) => a + b, 0);

let failed = false;
let cases = 0;
const started = performance.now();
const entries = Object.entries(properties);
let planned = 0;
for (const [i, [name, property]] of entries.entries()) {
  // Shares by weight; the last property takes the rounding remainder, so the total is exactly `total`.
  const numRuns =
    i === entries.length - 1 ? total - planned : Math.round((total * (WEIGHTS[name] ?? 1)) / totalWeight);
  planned += numRuns;
  const t0 = performance.now();
  const result = fc.check(property, { numRuns, seed });
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  cases += result.numRuns;
  if (result.failed) {
    failed = true;
    process.stdout.write(`${name}: FAILED after ${result.numRuns} cases (${seconds} s)\n`);
    process.stdout.write(`${fc.defaultReportMessage(result)}\n`);
  } else {
    process.stdout.write(`${name}: ${result.numRuns} cases passed in ${seconds} s\n`);
  }
}
const seconds = ((performance.now() - started) / 1000).toFixed(1);
process.stdout.write(`${cases} cases, seed ${seed}, ${seconds} s${failed ? ", FAILED" : ""}\n`);
process.exit(failed ? 1 : 0);
