// Offsets to 1-based lines and columns. Lines end at "\n", "\r\n" or a lone "\r"; columns count UTF-16 units.

import type { Span } from "./ast.ts";

export type Position = Span["start"];

export class LineMap {
  /** Offset of the first character of each line. */
  private readonly starts: number[] = [0];

  constructor(
    readonly file: string,
    readonly text: string,
  ) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) this.starts.push(i + 1);
      else if (c === 13) {
        if (text.charCodeAt(i + 1) === 10) i++;
        this.starts.push(i + 1);
      }
    }
  }

  /** The line of the last lookup: lookups mostly move forward a little, so try it first. */
  private last = 0;

  position(offset: number): Position {
    const o = Math.max(0, Math.min(offset, this.text.length));
    const starts = this.starts;
    const guess = this.last;
    if (starts[guess]! <= o && (guess + 1 >= starts.length || starts[guess + 1]! > o)) {
      return { offset: o, line: guess + 1, col: o - starts[guess]! + 1 };
    }
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= o) lo = mid;
      else hi = mid - 1;
    }
    this.last = lo;
    return { offset: o, line: lo + 1, col: o - starts[lo]! + 1 };
  }

  /** The span of `[start, end)`. */
  span(start: number, end: number): Span {
    return { file: this.file, start: this.position(start), end: this.position(Math.max(start, end)) };
  }

  /** `line:col` of an offset, for messages. */
  where(offset: number): string {
    const p = this.position(offset);
    return `${p.line}:${p.col}`;
  }
}
