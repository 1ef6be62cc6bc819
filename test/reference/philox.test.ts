// Philox 4x32-10 against the Random123 known-answer vectors, and the documented mapping from
// (seed, offset, index) to uniform and normal values.

import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import { normalAt, philox4x32, uniformAt } from "../../runtime/reference/philox.ts";

describe("Philox 4x32-10", () => {
  it("matches the Random123 known-answer tests", () => {
    expect(philox4x32([0, 0, 0, 0], [0, 0])).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    expect(philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff])).toEqual([
      0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd,
    ]);
    expect(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])).toEqual([
      0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1,
    ]);
  });

  it("maps (seed, counter) to uniforms as (x0 >> 8) * 2^-24", () => {
    const [x0] = philox4x32([5, 0, 0, 0], [42, 0]);
    expect(uniformAt(42, 5)).toBe((x0 >>> 8) / 2 ** 24);
    const [hi] = philox4x32([3, 1, 0, 0], [7, 2]);
    expect(uniformAt(2 * 2 ** 32 + 7, 2 ** 32 + 3)).toBe((hi >>> 8) / 2 ** 24);
  });

  it("random ops read counter offset + row-major index, so offsets continue a stream", () => {
    const b = new GraphBuilder();
    const whole = b.randomUniform([2, 3], 9, 0);
    const tail = b.randomUniform([4], 9, 2);
    const normal = b.randomNormal([3], 9, 1);
    const v = evaluate(b.build(), new Map());
    expect(Array.from(v.get(tail.id)!.data)).toEqual(Array.from(v.get(whole.id)!.data.slice(2)));
    expect(Array.from(v.get(normal.id)!.data)).toEqual([1, 2, 3].map((n) => normalAt(9, n)));
  });

  it("gives uniforms in [0, 1) and standard normals with the right moments", () => {
    const n = 20000;
    const u = Array.from({ length: n }, (_, i) => uniformAt(123, i));
    const z = Array.from({ length: n }, (_, i) => normalAt(123, i));
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
    expect(mean(u)).toBeCloseTo(0.5, 2);
    expect(mean(z)).toBeCloseTo(0, 1);
    expect(mean(z.map((x) => x * x))).toBeCloseTo(1, 1);
    expect(z.every(Number.isFinite)).toBe(true);
  });
});
