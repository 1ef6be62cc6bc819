// The `vlmp` command as a user runs it: `node bin/vlmp.js ...` spawned from the repository root.

import { type ExecFileOptions, execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** How one invocation ended: its exit status and everything it printed. */
export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node bin/vlmp.js ...args`; a non-zero exit resolves with its status (only a failure to run at
 * all, such as a timeout, rejects).
 */
export function runVlmp(args: readonly string[], options: ExecFileOptions = {}): Promise<Outcome> {
  return run(process.execPath, ["bin/vlmp.js", ...args], { ...options, encoding: "utf8" }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number | string; stdout?: string; stderr?: string }) => {
      if (typeof error.code !== "number") throw error;
      return { code: error.code, stdout: error.stdout ?? "", stderr: error.stderr ?? "" };
    },
  );
}

/** `runVlmp` with the default options. */
export function vlmp(...args: string[]): Promise<Outcome> {
  return runVlmp(args);
}
