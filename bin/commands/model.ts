// `vlmp model make-tiny --out DIR [--seed N]`: a tiny random CLIP checkpoint in the HF layout (clip.tiny's
// sizes), for tests and examples.

import { makeTinyClip } from "../../runtime/checkpoint/make-tiny.ts";
import { UsageError } from "../usage-error.ts";

export interface MakeTinyOptions {
  out: string;
  seed: string;
}

export function runMakeTiny(options: MakeTinyOptions): number {
  if (!/^\d+$/.test(options.seed) || !Number.isSafeInteger(Number(options.seed))) {
    throw new UsageError(`--seed must be a non-negative integer, got ${JSON.stringify(options.seed)}`);
  }
  const files = makeTinyClip(options.out, Number(options.seed));
  process.stderr.write(
    `wrote a tiny CLIP checkpoint (seed ${options.seed}): ${files.length} files in ${options.out}\n`,
  );
  return 0;
}
