// Plain progress lines for logs and CI (no TTY): one line when a task starts, then at most one every
// `intervalMs` (default 10 s), and one when it finishes.
//   [train epoch 3] 450/1000 (45%) 12.3 it/s eta 44s loss=0.1234

import {
  formatDuration,
  formatInfo,
  formatRate,
  Meter,
  type ProgressInfo,
  type ProgressReporter,
  throttledTask,
} from "./reporter.ts";

export interface LineOptions {
  readonly write: (line: string) => void;
  readonly intervalMs?: number;
  readonly now?: () => number;
}

export function plainReporter(options: LineOptions): ProgressReporter {
  const now = options.now ?? Date.now;
  const interval = options.intervalMs ?? 10_000;
  const line = (m: Meter, info: ProgressInfo | undefined, end: boolean) => {
    const count =
      m.total > 0 ? `${m.done}/${m.total} (${Math.floor((100 * m.done) / m.total)}%)` : `${m.done}`;
    const timing = end
      ? `in ${formatDuration(m.elapsedSeconds())}, ${formatRate(m.rate(), m.unit)}`
      : `${formatRate(m.rate(), m.unit)} eta ${formatDuration(m.eta())}`;
    const extra = formatInfo(info);
    options.write(`[${m.label}] ${count} ${timing}${extra ? ` ${extra}` : ""}${end ? " done" : ""}\n`);
  };
  return {
    task(label, total, taskOptions) {
      const m = new Meter(label, total, taskOptions?.unit ?? "it", now);
      const handle = throttledTask(m, now, interval, line);
      options.write(`[${label}] started${total > 0 ? `, ${total} ${m.unit}` : ""}\n`);
      return handle;
    },
    log(message) {
      options.write(`${message}\n`);
    },
    close() {},
  };
}
