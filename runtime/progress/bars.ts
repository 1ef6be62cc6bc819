// Progress bars on a terminal (cli-progress): one bar per running task with rate and ETA, extra values at
// the end of the line; messages logged above the bars.

import { MultiBar, Presets, type SingleBar } from "cli-progress";
import { formatDuration, formatInfo, formatRate, Meter, type ProgressReporter } from "./reporter.ts";

export function barReporter(stream: NodeJS.WritableStream = process.stderr): ProgressReporter {
  const multi = new MultiBar(
    {
      format: "{label} |{bar}| {percentage}% {value}/{total} {rate} eta {etaText} {info}",
      stream,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      barsize: 30,
      fps: 10,
      autopadding: true,
    },
    Presets.shades_classic,
  );
  const payload = (m: Meter, info?: Readonly<Record<string, string | number>>) => ({
    label: m.label,
    rate: formatRate(m.rate(), m.unit),
    etaText: m.finished ? formatDuration(m.elapsedSeconds()) : formatDuration(m.eta()),
    info: formatInfo(info),
  });
  return {
    task(label, total, options) {
      const m = new Meter(label, total, options?.unit ?? "it", Date.now);
      const bar: SingleBar = multi.create(Math.max(total, 0), 0, payload(m));
      let info: Readonly<Record<string, string | number>> | undefined;
      return {
        update(done, extra) {
          if (m.finished) return;
          m.done = done;
          info = extra ?? info;
          bar.update(done, payload(m, info));
        },
        increment(by = 1, extra) {
          if (m.finished) return;
          m.done += by;
          info = extra ?? info;
          bar.update(m.done, payload(m, info));
        },
        finish(extra) {
          if (m.finished) return;
          m.finished = true;
          if (m.total <= 0) bar.setTotal(m.done);
          bar.update(m.total > 0 ? Math.max(m.done, m.total) : m.done, payload(m, extra ?? info));
        },
      };
    },
    log(message) {
      multi.log(`${message}\n`);
    },
    close() {
      multi.stop();
    },
  };
}
