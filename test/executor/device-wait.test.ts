import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DeviceWait } from "../../runtime/executor/device-wait.ts";

/** A run submitted at the current (fake) time that finishes `ms` later; `slept` records how long the host slept first. */
async function run(wait: DeviceWait, ms: number): Promise<{ slept: number }> {
  const submittedAt = performance.now();
  let awaitedAt = 0;
  const waiting = wait.until(submittedAt, () => {
    awaitedAt = performance.now();
    const left = Math.max(0, submittedAt + ms - awaitedAt);
    return new Promise<void>((resolve) => setTimeout(resolve, left));
  });
  await vi.runAllTimersAsync();
  await waiting;
  return { slept: awaitedAt - submittedAt };
}

describe("waiting for the device without spinning", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("awaits at once until a warm run was timed: the first run includes shader compiles", async () => {
    const wait = new DeviceWait();
    expect((await run(wait, 5000)).slept).toBe(0);
    expect(wait.expectedMs).toBe(0);
    expect((await run(wait, 100)).slept).toBe(0);
    expect(wait.expectedMs).toBeCloseTo(100, 0);
  });

  it("then sleeps through most of the expected time and awaits only the rest", async () => {
    const wait = new DeviceWait();
    await run(wait, 100);
    await run(wait, 100);
    const { slept } = await run(wait, 100);
    expect(slept).toBeGreaterThanOrEqual(80);
    expect(slept).toBeLessThan(100);
  });

  it("shrinks the estimate when the work was done before the host woke", async () => {
    const wait = new DeviceWait();
    await run(wait, 100);
    await run(wait, 100);
    await run(wait, 10);
    expect(wait.expectedMs).toBeCloseTo(70, 0);
  });

  it("starts afresh after restart, for runs unlike the ones it learnt from", async () => {
    const wait = new DeviceWait();
    await run(wait, 100);
    await run(wait, 100);
    wait.restart();
    expect(wait.expectedMs).toBe(0);
    expect((await run(wait, 40)).slept).toBe(0);
    expect(wait.expectedMs).toBeCloseTo(40, 0);
  });
});
