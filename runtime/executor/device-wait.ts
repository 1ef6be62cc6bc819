// Waiting for submitted work without spinning. Awaiting a Dawn promise in the Node bindings spins a
// host core at 100% until the work is done, and on lavapipe the host's cores are the device: a spin
// through a whole run halved kernel throughput. So a recurring run sleeps through most of the time it
// is expected to take, learnt from the runs before it, and only then awaits.

import { sleep } from "../device/device.ts";

/** Of the expected time, the share slept before awaiting: the rest absorbs run-to-run variation. */
const SLEPT_SHARE = 0.85;

/** The expected device time of one recurring command buffer (a plan's forward, a training step). */
export class DeviceWait {
  private expected = 0;
  private runs = 0;

  /** The current estimate, ms (0 until a warm run was timed). */
  get expectedMs(): number {
    return this.expected;
  }

  /** Starts the estimate afresh: the run it came from was not representative (shader compilation). */
  restart(): void {
    this.expected = 0;
  }

  /**
   * Sleeps through most of the expected time left since `submittedAt` (performance.now() at submit),
   * then awaits `done` and learns from the run's time. The first run is not learnt from: it includes
   * the driver's shader compiles.
   */
  async until<T>(submittedAt: number, done: () => Promise<T>): Promise<T> {
    const slept = this.expected >= 2 ? this.expected * SLEPT_SHARE - (performance.now() - submittedAt) : 0;
    if (slept > 0) await sleep(slept);
    const woke = performance.now();
    const value = await done();
    const end = performance.now();
    if (this.runs++ > 0) this.expected = nextEstimate(this.expected, slept, end - woke, end - submittedAt);
    return value;
  }
}

/**
 * The next estimate of a run's time. When the work was already done on waking (the wait after the
 * sleep was short), the sleep overshot by an unknown amount: shrink the estimate. Otherwise the
 * whole time is a true measurement.
 */
function nextEstimate(previous: number, slept: number, waited: number, total: number): number {
  if (previous === 0) return total;
  if (slept > 0 && waited < 0.5) return previous * 0.7;
  return 0.7 * previous + 0.3 * total;
}
