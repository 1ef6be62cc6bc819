// `npm run fuzz`: the grammar's properties (test/grammar/parser-properties.ts) over 100,000 cases.
// Usage: tsx test/fuzz/run.ts [cases] [seed]

import fc from "fast-check";
import { parserProperties } from "../grammar/parser-properties.ts";

const total = Number(process.argv[2] ?? 100_000);
const seed = process.argv[3] === undefined ? Date.now() % 2 ** 31 : Number(process.argv[3]);
const properties = Object.entries(parserProperties);
const perProperty = Math.ceil(total / properties.length);

let failed = false;
const started = performance.now();
for (const [name, property] of properties) {
  const t0 = performance.now();
  const result = fc.check(property, { numRuns: perProperty, seed });
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  if (result.failed) {
    failed = true;
    process.stdout.write(`${name}: FAILED after ${result.numRuns} cases (${seconds} s)\n`);
    process.stdout.write(`${fc.defaultReportMessage(result)}\n`);
  } else {
    process.stdout.write(`${name}: ${result.numRuns} cases passed in ${seconds} s\n`);
  }
}
const seconds = ((performance.now() - started) / 1000).toFixed(1);
process.stdout.write(
  `${perProperty * properties.length} cases, seed ${seed}, ${seconds} s${failed ? ", FAILED" : ""}\n`,
);
process.exit(failed ? 1 : 0);
