// `vlmp data make`: plan a world, render every image (sharp, a few in flight), write the PNGs, the
// manifests, class lists and the world's extra files, then world.json. Deterministic for a seed: the same
// (world, seed, size, count) gives the same bytes in every file.

import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type ProgressReporter, silentReporter } from "../../progress/reporter.ts";
import { writeFileAtomic } from "../../run/atomic.ts";
import { VLMP_VERSION } from "../../run/run-dir.ts";
import { manifestCsv } from "./manifest.ts";
import { lines, type PlanOptions, type WorldName, type WorldPlan } from "./plan.ts";
import { pool, renderScene } from "./render.ts";
import { planApex } from "./world-apex.ts";
import { planCaptions } from "./world-captions.ts";
import { planCfr } from "./world-cfr.ts";
import { planClap4clip } from "./world-clap4clip.ts";
import { planUeo } from "./world-ueo.ts";

const PLANNERS: Record<WorldName, (options: PlanOptions) => WorldPlan> = {
  ueo: planUeo,
  cfr: planCfr,
  clap4clip: planClap4clip,
  apex: planApex,
  captions: planCaptions,
};

export function planWorld(world: WorldName, options: PlanOptions): WorldPlan {
  return PLANNERS[world](options);
}

export interface MakeOptions {
  readonly out: string;
  readonly seed?: number;
  /** Image side in pixels (default 32). */
  readonly size?: number;
  readonly count?: number;
  /** Write into a non-empty folder. */
  readonly force?: boolean;
  readonly reporter?: ProgressReporter;
  /** Images rendered at once (default 8). */
  readonly concurrency?: number;
}

export interface MakeResult {
  readonly dir: string;
  readonly images: number;
  readonly seconds: number;
  readonly plan: WorldPlan;
}

export async function makeWorld(world: WorldName, options: MakeOptions): Promise<MakeResult> {
  const seed = options.seed ?? 0;
  const size = options.size ?? 32;
  if (!Number.isInteger(size) || size < 8 || size > 1024)
    throw new Error(`--size must be an integer in [8, 1024], got ${size}`);
  if (!Number.isInteger(seed) || seed < 0)
    throw new Error(`--seed must be a non-negative integer, got ${seed}`);
  if (options.count !== undefined && (!Number.isInteger(options.count) || options.count < 1)) {
    throw new Error(`--count must be a positive integer, got ${options.count}`);
  }
  if (existsSync(options.out) && readdirSync(options.out).length > 0 && !options.force) {
    throw new Error(`${options.out} is not empty (use --force to write into it)`);
  }
  const started = performance.now();
  const plan = planWorld(world, { seed, ...(options.count !== undefined ? { count: options.count } : {}) });
  const all = plan.parts.flatMap((part) =>
    part.images.map((im) => ({ im, file: join(options.out, part.dir, im.path) })),
  );
  for (const dir of new Set(all.map(({ file }) => join(file, "..")))) mkdirSync(dir, { recursive: true });

  const reporter = options.reporter ?? silentReporter;
  const task = reporter.task(`data make ${world}`, all.length, { unit: "img" });
  await pool(
    all,
    options.concurrency ?? 8,
    async ({ im, file }) => writeFile(file, await renderScene(im.scene, size)),
    () => task.increment(),
  );
  task.finish();

  for (const part of plan.parts) {
    const dir = join(options.out, part.dir);
    writeFileAtomic(join(dir, "classes.txt"), lines(part.classes));
    writeFileAtomic(join(dir, "manifest.csv"), manifestCsv(part.images));
    for (const [name, content] of Object.entries(part.files)) writeFileAtomic(join(dir, name), content);
  }
  const splits = (images: readonly { split: string }[]) => {
    const out: Record<string, number> = {};
    for (const im of images) out[im.split] = (out[im.split] ?? 0) + 1;
    return out;
  };
  const meta = {
    world,
    seed,
    size,
    count: all.length,
    generator: `vlmp ${VLMP_VERSION}`,
    parts: plan.parts.map((p) => ({
      dir: p.dir,
      classes: p.classes.length,
      splits: splits(p.images),
      ...p.meta,
    })),
    ...plan.meta,
  };
  writeFileAtomic(join(options.out, "world.json"), `${JSON.stringify(meta, null, 2)}\n`);
  return { dir: options.out, images: all.length, seconds: (performance.now() - started) / 1000, plan };
}
