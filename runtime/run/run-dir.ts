// A run directory: runs/<pipeline>/<time>-<irhash>/ holding
//   spec.vlmp      the spec as given           ir.json       the resolved Pipeline IR
//   metrics.jsonl  one JSON line per logged step, epoch or evaluation
//   summary.json   `before` / `after` metric maps and the run's identity (IR hash, seed, device, vlmp version)
//   plots/*.svg    loss and metric curves, reliability diagrams, known-vs-unknown score histograms
// Every file is written atomically (temporary file + rename); metrics.jsonl is append-only, one whole line
// per write, and a line torn by a crash is cut off when the run is reopened.

import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import packageJson from "../../package.json" with { type: "json" };
import { appendLine, readJsonl, repairJsonl, writeFileAtomic } from "./atomic.ts";

export const VLMP_VERSION: string = packageJson.version;

/** Metric values as JSON: NaN and ±Infinity become null (JSON has no NaN). */
export type MetricMap = Record<string, number | null>;

export interface RunIdentity {
  readonly pipeline: string;
  readonly irHash: string;
  readonly seed: number;
  readonly device: string;
  readonly vlmpVersion: string;
  /** ISO 8601, UTC. */
  readonly startedAt: string;
}

export interface MetricsRecord {
  readonly kind: "step" | "epoch" | "eval";
  /** Global optimisation step (step records; optional elsewhere). */
  readonly step?: number;
  /** Epoch (epoch and eval records; 0 = before training). */
  readonly epoch?: number;
  /** Which evaluate block or split, e.g. "test" (eval records). */
  readonly split?: string;
  /** Stage or task of a multi-stage pipeline, e.g. "task3". */
  readonly stage?: string;
  readonly values: MetricMap;
  /** Seconds since the run started. */
  readonly time: number;
}

export interface Summary {
  readonly identity: RunIdentity;
  /** The model as loaded (e.g. zero-shot), for a pipeline that trains. */
  readonly before?: MetricMap;
  readonly after?: MetricMap;
  /** Anything else a pipeline reports (per-step PhNDD, selected epoch, warnings, …). */
  readonly extra?: Record<string, unknown>;
}

export function toMetricMap(values: Record<string, number | null | undefined>): MetricMap {
  const out: MetricMap = {};
  for (const [k, v] of Object.entries(values))
    out[k] = typeof v === "number" && Number.isFinite(v) ? v : null;
  return out;
}

/** `<YYYYMMDD-HHMMSS>-<irhash>` in UTC. */
export function runDirName(irHash: string, date: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  const time =
    `${date.getUTCFullYear()}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}-` +
    `${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}`;
  return `${time}-${irHash}`;
}

export interface CreateRunOptions {
  /** Default "runs". */
  readonly root?: string;
  readonly pipeline: string;
  readonly specText: string;
  readonly ir: unknown;
  readonly irHash: string;
  readonly seed: number;
  readonly device: string;
  readonly vlmpVersion?: string;
  readonly now?: Date;
}

export class RunDirectory {
  private readonly started: number;

  private constructor(
    readonly path: string,
    readonly identity: RunIdentity,
  ) {
    this.started = Date.parse(identity.startedAt);
  }

  static create(options: CreateRunOptions): RunDirectory {
    if (!/^[A-Za-z0-9_.-]+$/.test(options.pipeline))
      throw new Error(`bad pipeline name '${options.pipeline}'`);
    const now = options.now ?? new Date();
    const parent = join(options.root ?? "runs", options.pipeline);
    mkdirSync(parent, { recursive: true });
    // Two runs of one IR in the same second get -2, -3, … suffixes.
    const base = join(parent, runDirName(options.irHash, now));
    let path = base;
    for (let n = 2; ; n++) {
      try {
        mkdirSync(path);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        path = `${base}-${n}`;
      }
    }
    mkdirSync(join(path, "plots"));
    const identity: RunIdentity = {
      pipeline: options.pipeline,
      irHash: options.irHash,
      seed: options.seed,
      device: options.device,
      vlmpVersion: options.vlmpVersion ?? VLMP_VERSION,
      startedAt: now.toISOString(),
    };
    const run = new RunDirectory(path, identity);
    run.writeFile("spec.vlmp", options.specText);
    run.writeFile("ir.json", `${JSON.stringify(options.ir, null, 2)}\n`);
    run.writeFile("metrics.jsonl", "");
    run.writeSummary({});
    return run;
  }

  /** Reopen an existing run (to resume): cuts a torn last line off metrics.jsonl. */
  static open(path: string): RunDirectory {
    const summary = JSON.parse(readFileSync(join(path, "summary.json"), "utf8")) as Summary;
    repairJsonl(join(path, "metrics.jsonl"));
    mkdirSync(join(path, "plots"), { recursive: true });
    return new RunDirectory(path, summary.identity);
  }

  file(relative: string): string {
    return join(this.path, relative);
  }

  writeFile(relative: string, data: string | Uint8Array): void {
    writeFileAtomic(this.file(relative), data);
  }

  /** Append one record to metrics.jsonl; `time` defaults to seconds since the run started. */
  log(
    record: Omit<MetricsRecord, "time" | "values"> & {
      values: Record<string, number | null | undefined>;
      time?: number;
    },
  ): void {
    const line: MetricsRecord = {
      ...record,
      values: toMetricMap(record.values),
      time: record.time ?? Math.round((Date.now() - this.started) / 10) / 100,
    };
    appendLine(this.file("metrics.jsonl"), JSON.stringify(line));
  }

  records(): MetricsRecord[] {
    const path = this.file("metrics.jsonl");
    return existsSync(path) ? readJsonl<MetricsRecord>(path) : [];
  }

  summary(): Summary {
    return JSON.parse(readFileSync(this.file("summary.json"), "utf8")) as Summary;
  }

  /** Write summary.json: the identity plus the given parts, merged over what is already there. */
  writeSummary(parts: {
    before?: Record<string, number | null | undefined>;
    after?: Record<string, number | null | undefined>;
    extra?: Record<string, unknown>;
  }): void {
    const previous = existsSync(this.file("summary.json")) ? this.summary() : undefined;
    const before = parts.before ? toMetricMap(parts.before) : previous?.before;
    const after = parts.after ? toMetricMap(parts.after) : previous?.after;
    const extra = parts.extra ? { ...previous?.extra, ...parts.extra } : previous?.extra;
    const summary: Summary = {
      identity: this.identity,
      ...(before ? { before } : {}),
      ...(after ? { after } : {}),
      ...(extra ? { extra } : {}),
    };
    this.writeFile("summary.json", `${JSON.stringify(summary, null, 2)}\n`);
  }

  /** plots/<name>.svg */
  writePlot(name: string, svg: string): string {
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`bad plot name '${name}'`);
    const relative = join("plots", `${name}.svg`);
    this.writeFile(relative, svg);
    return this.file(relative);
  }
}
