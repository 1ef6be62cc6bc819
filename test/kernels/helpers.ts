// Shared by the kernel tests: one device per test file (acquired in the file's forked process),
// skipped with a printed reason when there is no adapter; comparison of device results with the
// reference interpreter under per-op tolerances.

import { expect } from "vitest";
import type { Graph, ValueId } from "../../compiler/graph/graph.ts";
import { acquireDevice, type Device, NoAdapterError } from "../../runtime/device/device.ts";
import { evaluate } from "../../runtime/reference/interpreter.ts";
import type { Tensor } from "../../runtime/reference/tensor.ts";

/** The device, or undefined (with the reason printed) when this machine has no WebGPU adapter. */
export async function deviceOrSkip(file: string): Promise<Device | undefined> {
  if (process.env["VLMP_SKIP_GPU"]) {
    console.log(`${file}: skipped, VLMP_SKIP_GPU is set`);
    return undefined;
  }
  try {
    return await acquireDevice();
  } catch (e) {
    if (e instanceof NoAdapterError) {
      console.log(`${file}: GPU tests skipped: ${e.message}`);
      return undefined;
    }
    throw e;
  }
}

export interface Tolerance {
  readonly rtol: number;
  readonly atol: number;
}

/** |got - want| <= atol + rtol |want| everywhere (NaN matches NaN, infinities must agree). */
export function expectClose(got: Tensor, want: Tensor, tol: Tolerance, what: string): void {
  expect(got.shape, `${what}: shape`).toEqual(want.shape);
  for (let i = 0; i < want.data.length; i++) {
    const g = got.data[i]!;
    const w = want.data[i]!;
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    if (!Number.isFinite(w) && g === w) continue;
    const err = Math.abs(g - w);
    if (!(err <= tol.atol + tol.rtol * Math.abs(w))) {
      expect.fail(
        `${what}: element ${i} of [${want.shape.join(", ")}] is ${g}, reference ${w} ` +
          `(error ${err.toExponential(2)} > ${tol.atol} + ${tol.rtol}·|ref|)`,
      );
    }
  }
}

export function randomData(r: () => number, n: number, lo = -1, hi = 1): Float64Array {
  // f32-representable, so the device sees exactly the values the reference does.
  return Float64Array.from({ length: n }, () => Math.fround(lo + (hi - lo) * r()));
}

/** Runs `graph` on the reference interpreter and returns the values of `outputs`. */
export function reference(graph: Graph, feeds: ReadonlyMap<ValueId, Tensor>): Map<ValueId, Tensor> {
  return evaluate(graph, feeds);
}
