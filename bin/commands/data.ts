// `vlmp data make WORLD --out DIR [--seed N] [--size S] [--count N]` and `vlmp data show DIR`: the synthetic
// worlds of runtime/data/synthetic, with a progress bar (plain lines when not on a terminal).

import { createReporter, type ProgressMode } from "../../runtime/progress/index.ts";
import { UsageError } from "../usage-error.ts";

const WORLD_NAMES = ["ueo", "cfr", "clap4clip", "apex", "captions"] as const;

export interface DataMakeOptions {
  out: string;
  seed?: string;
  size?: string;
  count?: string;
  force?: boolean;
  progress?: ProgressMode;
}

function integer(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min) {
    throw new UsageError(`--${name} must be an integer ≥ ${min}, got '${value}'`);
  }
  return Number(value);
}

export async function runDataMake(world: string, options: DataMakeOptions): Promise<number> {
  if (!(WORLD_NAMES as readonly string[]).includes(world)) {
    throw new UsageError(`unknown world '${world}' (expected one of ${WORLD_NAMES.join(", ")})`);
  }
  const seed = integer("seed", options.seed, 0);
  const size = integer("size", options.size, 8);
  const count = integer("count", options.count, 1);
  const { makeWorld } = await import("../../runtime/data/synthetic/make.ts");
  const reporter = createReporter(options.progress ?? "auto");
  try {
    const result = await makeWorld(world as (typeof WORLD_NAMES)[number], {
      out: options.out,
      reporter,
      force: options.force === true,
      ...(seed !== undefined ? { seed } : {}),
      ...(size !== undefined ? { size } : {}),
      ...(count !== undefined ? { count } : {}),
    });
    reporter.close();
    process.stdout.write(
      `wrote ${result.images} images of world ${world} to ${result.dir} in ${result.seconds.toFixed(1)} s\n`,
    );
    return 0;
  } catch (error) {
    reporter.close();
    if (error instanceof Error && /^(--|.* is not empty)/.test(error.message))
      throw new UsageError(error.message);
    throw error;
  }
}

export interface DataShowOptions {
  out?: string;
  perClass?: string;
  tile?: string;
}

export async function runDataShow(dir: string, options: DataShowOptions): Promise<number> {
  const perClass = integer("per-class", options.perClass, 1);
  const tile = integer("tile", options.tile, 8);
  const { existsSync } = await import("node:fs");
  const { join } = await import("node:path");
  if (!existsSync(join(dir, "world.json"))) {
    throw new UsageError(`${dir} has no world.json (make one with 'vlmp data make WORLD --out ${dir}')`);
  }
  const { contactSheet } = await import("../../runtime/data/synthetic/contact-sheet.ts");
  const out = await contactSheet(dir, {
    ...(options.out !== undefined ? { out: options.out } : {}),
    ...(perClass !== undefined ? { perClass } : {}),
    ...(tile !== undefined ? { tile } : {}),
  });
  process.stdout.write(`wrote ${out}\n`);
  return 0;
}
