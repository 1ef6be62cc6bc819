// Atomic file writes: write a temporary file in the same folder, flush it to disk, then rename it over the
// target (rename within one file system is atomic), so a reader, or a run resumed after a crash, sees either
// the old file or the new one, never a torn mix. Append-only logs (metrics.jsonl) add whole lines with one
// write each; a line torn by a crash is dropped when the log is read or reopened (`repairJsonl`).

import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";

let counter = 0;

/** The temporary name used while writing `path` (same folder, so the rename stays on one file system). */
export function temporaryPath(path: string): string {
  counter = (counter + 1) % 1_000_000;
  return join(dirname(path), `.${basename(path)}.${process.pid}.${counter}.tmp`);
}

export interface AtomicWriteHooks {
  /** Test hook: called after the temporary file is written and before the rename (simulate a crash). */
  readonly beforeRename?: (temporary: string) => void;
}

export function writeFileAtomic(path: string, data: string | Uint8Array, hooks: AtomicWriteHooks = {}): void {
  const temporary = temporaryPath(path);
  const fd = openSync(temporary, "w", 0o644);
  try {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    hooks.beforeRename?.(temporary);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** Append one line with a single write (O_APPEND), flushed. */
export function appendLine(path: string, line: string): void {
  if (line.includes("\n")) throw new Error("appendLine: the line contains a newline");
  const fd = openSync(path, "a", 0o644);
  try {
    const bytes = Buffer.from(`${line}\n`, "utf8");
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Cut a torn last line (no trailing newline) off an append-only log; returns the number of bytes removed. */
export function repairJsonl(path: string): number {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return 0;
  }
  if (bytes.length === 0 || bytes[bytes.length - 1] === 0x0a) return 0;
  const keep = bytes.lastIndexOf(0x0a) + 1;
  truncateSync(path, keep);
  return bytes.length - keep;
}

/** The complete lines of a JSON-lines log, parsed; a torn last line is ignored. */
export function readJsonl<T>(path: string): T[] {
  const text = readFileSync(path, "utf8");
  const lines = text.split("\n");
  lines.pop(); // after the last newline: "" or a torn line
  return lines.filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as T);
}
