// Choosing a reporter: `auto` = bars on a TTY, plain lines otherwise.

import { barReporter } from "./bars.ts";
import { jsonReporter } from "./json.ts";
import { plainReporter } from "./plain.ts";
import { type ProgressReporter, silentReporter } from "./reporter.ts";

export { barReporter } from "./bars.ts";
export { jsonReporter } from "./json.ts";
export { type LineOptions, plainReporter } from "./plain.ts";
export { type ProgressInfo, type ProgressReporter, type ProgressTask, silentReporter } from "./reporter.ts";

export type ProgressMode = "auto" | "bars" | "plain" | "json" | "none";

export function createReporter(
  mode: ProgressMode = "auto",
  stream: NodeJS.WriteStream | NodeJS.WritableStream = process.stderr,
): ProgressReporter {
  const write = (line: string) => {
    stream.write(line);
  };
  const tty = "isTTY" in stream && stream.isTTY === true;
  switch (mode) {
    case "none":
      return silentReporter;
    case "json":
      return jsonReporter({ write });
    case "plain":
      return plainReporter({ write });
    case "bars":
      return barReporter(stream);
    case "auto":
      return tty ? barReporter(stream) : plainReporter({ write });
  }
}
