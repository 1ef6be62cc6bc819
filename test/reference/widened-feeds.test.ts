import { describe, expect, it } from "vitest";
import { markImmutable, widened } from "../../runtime/reference/tensor.ts";

describe("feeds widened for the reference interpreter", () => {
  it("gives float64 values equal to the float32 feed's", () => {
    const feed = { shape: [3], data: Float32Array.of(0.1, -2.5, 3e-8) };
    const wide = widened(feed);
    expect(wide.data).toBeInstanceOf(Float64Array);
    expect([...wide.data]).toEqual([...feed.data]);
    expect(wide.shape).toEqual([3]);
  });

  it("hands a float64 feed over without a copy", () => {
    const data = Float64Array.of(1, 2);
    expect(widened({ shape: [2], data }).data).toBe(data);
  });

  it("widens an immutable feed once, however often it is fed", () => {
    const weights = markImmutable({ shape: [2], data: Float32Array.of(1, 2) });
    expect(widened(weights)).toBe(widened(weights));
  });

  it("widens a feed that may change afresh each time, so a write in place is seen", () => {
    const pixels = { shape: [2], data: Float32Array.of(1, 2) };
    const first = widened(pixels);
    pixels.data[0] = 7;
    const second = widened(pixels);
    expect(second).not.toBe(first);
    expect([...second.data]).toEqual([7, 2]);
  });
});
