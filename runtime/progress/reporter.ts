// The progress interface between the engine and the terminal (DESIGN "Environment"): the engine reports
// long steps (data preparation, epochs, evaluation) through `ProgressReporter` only and never imports a UI
// package; the CLI picks an implementation — bars on a TTY (cli-progress), plain periodic lines when not a
// TTY (CI), JSON lines on request, or nothing.

/** Extra values shown with a task, e.g. { loss: 0.231, acc: "81.2%" }. */
export type ProgressInfo = Readonly<Record<string, string | number>>;

export interface ProgressTask {
  /** Set the number of units done so far. */
  update(done: number, info?: ProgressInfo): void;
  /** Add `by` (default 1) units. */
  increment(by?: number, info?: ProgressInfo): void;
  /** The task is over (whatever `done` is); further calls are ignored. */
  finish(info?: ProgressInfo): void;
}

export interface ProgressReporter {
  /** Start a task of `total` units (0 or less: unknown total). */
  task(label: string, total: number, options?: { unit?: string }): ProgressTask;
  /** A message between progress output (does not break bars). */
  log(message: string): void;
  /** Stop every task and release the terminal. */
  close(): void;
}

/** Reports nothing (tests, library use). */
export const silentReporter: ProgressReporter = {
  task: () => ({ update() {}, increment() {}, finish() {} }),
  log() {},
  close() {},
};

/** Rate and ETA bookkeeping shared by the implementations. */
export class Meter {
  done = 0;
  finished = false;
  readonly startedAt: number;

  constructor(
    readonly label: string,
    readonly total: number,
    readonly unit: string,
    private readonly now: () => number,
  ) {
    this.startedAt = now();
  }

  elapsedSeconds(): number {
    return (this.now() - this.startedAt) / 1000;
  }

  /** Units per second since the start (0 before any time has passed). */
  rate(): number {
    const s = this.elapsedSeconds();
    return s > 0 ? this.done / s : 0;
  }

  /** Seconds left at the current rate; undefined when unknown. */
  eta(): number | undefined {
    const r = this.rate();
    if (this.total <= 0 || r <= 0) return undefined;
    return Math.max(0, (this.total - this.done) / r);
  }
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

export function formatRate(rate: number, unit: string): string {
  return `${rate >= 100 ? Math.round(rate) : rate.toPrecision(3)} ${unit}/s`;
}

export function formatInfo(info: ProgressInfo | undefined): string {
  if (!info) return "";
  return Object.entries(info)
    .map(([k, v]) => `${k}=${typeof v === "number" ? Number(v.toPrecision(4)) : v}`)
    .join(" ");
}

/**
 * The task handle of the line reporters (plain, JSON): `report(m, info, false)` at most once every
 * `intervalMs` (of `now`, counted from this call) while the task runs, `report(m, info, true)` once when
 * it finishes; calls after that are ignored.
 */
export function throttledTask(
  m: Meter,
  now: () => number,
  intervalMs: number,
  report: (m: Meter, info: ProgressInfo | undefined, end: boolean) => void,
): ProgressTask {
  let last = now();
  const maybe = (info?: ProgressInfo) => {
    if (now() - last >= intervalMs) {
      last = now();
      report(m, info, false);
    }
  };
  return {
    update(done, info) {
      if (m.finished) return;
      m.done = done;
      maybe(info);
    },
    increment(by = 1, info) {
      if (m.finished) return;
      m.done += by;
      maybe(info);
    },
    finish(info) {
      if (m.finished) return;
      m.finished = true;
      report(m, info, true);
    },
  };
}
