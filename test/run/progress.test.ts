// The progress reporters: plain periodic lines, JSON lines, the TTY bars, and the choice between them.

import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  barReporter,
  createReporter,
  jsonReporter,
  plainReporter,
  silentReporter,
} from "../../runtime/progress/index.ts";

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("plain reporter", () => {
  it("prints a start line, at most one line per interval, and a final line", () => {
    const c = clock();
    const lines: string[] = [];
    const r = plainReporter({ write: (l) => lines.push(l), intervalMs: 10_000, now: c.now });
    const task = r.task("train epoch 1", 100, { unit: "batch" });
    for (let i = 0; i < 100; i++) {
      c.advance(500);
      task.increment(1, { loss: 1 / (i + 1) });
    }
    task.finish({ loss: 0.01 });
    task.increment(); // ignored after finish
    r.log("evaluating");
    expect(lines[0]).toBe("[train epoch 1] started, 100 batch\n");
    expect(lines).toHaveLength(1 + 5 + 1 + 1); // 50 s at 10 s intervals, then finish, then the log line
    expect(lines[1]).toBe("[train epoch 1] 20/100 (20%) 2.00 batch/s eta 40s loss=0.05\n");
    expect(lines[6]).toBe("[train epoch 1] 100/100 (100%) in 50s, 2.00 batch/s loss=0.01 done\n");
    expect(lines[7]).toBe("evaluating\n");
  });
});

describe("JSON reporter", () => {
  it("emits start, throttled progress and finish events as JSON lines", () => {
    const c = clock();
    const lines: string[] = [];
    const r = jsonReporter({ write: (l) => lines.push(l), intervalMs: 1000, now: c.now });
    const task = r.task("data", 10);
    for (let i = 0; i < 10; i++) {
      c.advance(400);
      task.update(i + 1);
    }
    task.finish();
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e["event"])).toEqual(["start", "progress", "progress", "progress", "finish"]);
    expect(events[0]).toEqual({ event: "start", task: "data", total: 10, unit: "it", time: 0 });
    expect(events[1]).toMatchObject({ task: "data", done: 3, total: 10, rate: 2.5, eta: 2.8, time: 1.2 });
    expect(events[4]).toMatchObject({ event: "finish", done: 10, rate: 2.5, time: 4 });
    expect(lines.every((l) => l.endsWith("\n") && !l.slice(0, -1).includes("\n"))).toBe(true);
  });
});

describe("bars and the choice of reporter", () => {
  it("draws cli-progress bars on a TTY-like stream", async () => {
    const stream = new PassThrough();
    let out = "";
    stream.on("data", (d: Buffer) => {
      out += d.toString();
    });
    Object.assign(stream, {
      isTTY: true,
      columns: 120,
      cursorTo: () => true,
      clearLine: () => true,
      moveCursor: () => true,
    });
    const r = barReporter(stream);
    const task = r.task("make ueo", 4, { unit: "img" });
    task.increment(2, { seed: 0 });
    task.finish();
    r.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(out).toContain("make ueo");
    expect(out).toContain("img/s");
  });

  it("auto: bars on a TTY, plain lines otherwise; none is silent", async () => {
    const notTty = new PassThrough();
    let text = "";
    notTty.on("data", (d: Buffer) => {
      text += d.toString();
    });
    const r = createReporter("auto", notTty);
    const task = r.task("x", 1);
    task.increment();
    task.finish();
    await new Promise((resolve) => setImmediate(resolve));
    expect(text).toMatch(/^\[x\] started, 1 it\n\[x\] 1\/1 \(100%\)/);
    expect(createReporter("none", notTty)).toBe(silentReporter);
  });
});
