// JSON-lines progress (`--progress json`): one object per line, for tools that drive vlmp.
//   {"event":"start","task":"train","total":1000,"unit":"it","time":0}
//   {"event":"progress","task":"train","done":450,"total":1000,"rate":12.3,"eta":44.7,"info":{"loss":0.12},"time":36.6}
//   {"event":"finish","task":"train","done":1000,"total":1000,"rate":12.5,"time":80.1}
//   {"event":"log","message":"…","time":80.2}
// Progress events at most every `intervalMs` (default 1 s) per task; start and finish always.

import type { LineOptions } from "./plain.ts";
import { Meter, type ProgressInfo, type ProgressReporter, throttledTask } from "./reporter.ts";

export function jsonReporter(options: LineOptions): ProgressReporter {
  const now = options.now ?? Date.now;
  const interval = options.intervalMs ?? 1000;
  const origin = now();
  const emit = (event: Record<string, unknown>) =>
    options.write(`${JSON.stringify({ ...event, time: round((now() - origin) / 1000) })}\n`);
  const progress = (event: "progress" | "finish", m: Meter, info: ProgressInfo | undefined) => {
    const eta = m.eta();
    emit({
      event,
      task: m.label,
      done: m.done,
      total: m.total,
      rate: round(m.rate()),
      ...(event === "progress" && eta !== undefined ? { eta: round(eta) } : {}),
      ...(info ? { info } : {}),
    });
  };
  return {
    task(label, total, taskOptions) {
      const m = new Meter(label, total, taskOptions?.unit ?? "it", now);
      emit({ event: "start", task: label, total, unit: m.unit });
      return throttledTask(m, now, interval, (m, info, end) =>
        progress(end ? "finish" : "progress", m, info),
      );
    },
    log(message) {
      emit({ event: "log", message });
    },
    close() {},
  };
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
