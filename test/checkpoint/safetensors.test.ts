// The hand-written safetensors reader and writer: round trips, f16/bf16 decoding against bit patterns
// taken from numpy/PyTorch, a catalogue of corrupted files (each rejected with a SafetensorsError naming the
// file and, where one is at fault, the tensor), and header fuzzing with fast-check.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  decodeToFloat32,
  encodeSafetensors,
  MAX_HEADER_BYTES,
  Safetensors,
  SafetensorsError,
  writeSafetensors,
} from "../../runtime/checkpoint/safetensors.ts";
import { floatToHalfBits } from "../../runtime/formats/half.ts";

const dir = mkdtempSync(path.join(tmpdir(), "vlmp-st-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file from a literal header and data bytes (the length prefix computed). */
function rawFile(header: unknown, data: Uint8Array | number = 0, headerText?: string): Uint8Array {
  const text = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const bytes = typeof data === "number" ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + text.byteLength + bytes.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.byteLength), true);
  out.set(text, 8);
  out.set(bytes, 8 + text.byteLength);
  return out;
}

function u16le(values: number[]): Uint8Array {
  const out = new Uint8Array(2 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => {
    view.setUint16(2 * i, v, true);
  });
  return out;
}

describe("round trip", () => {
  const a = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i) * 10);
  const scalar = new Float32Array([4.605170249938965]);
  const tensors = [
    { name: "a.weight", shape: [2, 3, 4], data: a },
    { name: "logit_scale", shape: [], data: scalar },
    { name: "empty", shape: [0, 5], data: new Float32Array(0) },
    { name: "half", shape: [3], data: new Float32Array([1, -2, 0.333333]), dtype: "F16" as const },
  ];

  it("in memory: header, metadata, values", () => {
    const bytes = encodeSafetensors(tensors, { format: "pt" });
    const st = Safetensors.fromBytes(bytes, "mem.safetensors");
    expect([...st.tensors.keys()]).toEqual(["a.weight", "logit_scale", "empty", "half"]);
    expect(st.metadata).toEqual({ format: "pt" });
    expect(st.info("a.weight")).toMatchObject({ dtype: "F32", shape: [2, 3, 4], size: 24 });
    expect(st.info("logit_scale").shape).toEqual([]);
    expect(st.read("a.weight")).toEqual(a);
    expect(st.read("logit_scale")).toEqual(scalar);
    expect(st.read("empty")).toHaveLength(0);
    expect([...st.read("half")]).toEqual([1, -2, 0.333251953125]);
    // The header is padded with spaces to a multiple of 8 bytes, so f32 data is aligned.
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0);
  });

  it("on disk, read lazily", () => {
    const file = path.join(dir, "rt.safetensors");
    writeSafetensors(file, tensors);
    const st = Safetensors.open(file);
    expect(st.read("a.weight")).toEqual(a);
    expect(st.bytes("logit_scale")).toHaveLength(4);
  });

  it("unaligned tensors are copied, not viewed", () => {
    // An F16 tensor of 3 values makes the next F32 tensor start at an odd multiple of 2.
    const bytes = encodeSafetensors([
      { name: "h", shape: [3], data: new Float32Array([1, 2, 3]), dtype: "F16" },
      { name: "f", shape: [2], data: new Float32Array([1.5, -7.25]) },
    ]);
    const shifted = new Uint8Array(bytes.byteLength + 1);
    shifted.set(bytes, 1);
    const st = Safetensors.fromBytes(shifted.subarray(1), "shifted");
    expect([...st.read("f")]).toEqual([1.5, -7.25]);
    expect(st.read("f").byteOffset).toBe(0);
  });
});

describe("decoding", () => {
  it("f16 bit patterns (from numpy.float16)", () => {
    const bits = [0x3c00, 0xc000, 0x7bff, 0x0400, 0x0001, 0x3555, 0x7c00, 0xfc00, 0x8000, 0x4248];
    const expected = [
      1,
      -2,
      65504,
      6.103515625e-5,
      2 ** -24,
      0.333251953125,
      Infinity,
      -Infinity,
      -0,
      3.140625,
    ];
    expect([...decodeToFloat32(u16le(bits), "F16", bits.length)]).toEqual(expected);
    expect(Number.isNaN(decodeToFloat32(u16le([0x7e00]), "F16", 1)[0])).toBe(true);
  });

  it("bf16 bit patterns (from torch.bfloat16)", () => {
    const bits = [0x3f80, 0xc020, 0x4049, 0x4780, 0x7f80];
    expect([...decodeToFloat32(u16le(bits), "BF16", bits.length)]).toEqual([
      1,
      -2.5,
      3.140625,
      65536,
      Infinity,
    ]);
    expect(decodeToFloat32(u16le([0x1e3d]), "BF16", 1)[0]).toBeCloseTo(1.0005576689441423e-20, 30);
  });

  it("f32 → f16 rounding (numpy.float16 as reference)", () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [70000, 0x7c00],
      [0.333333, 0x3555],
      [1e-8, 0x0000],
      [2 ** -24, 0x0001],
      [2.5, 0x4100],
      [1 + 2 ** -11, 0x3c00], // a tie rounds to even
      [1 + 3 * 2 ** -11, 0x3c02],
      [Infinity, 0x7c00],
    ];
    for (const [value, bits] of cases) expect(floatToHalfBits(value)).toBe(bits);
    // Every finite f16 survives f16 → f32 → f16.
    const all = decodeToFloat32(u16le(Array.from({ length: 65536 }, (_, i) => i)), "F16", 65536);
    for (let i = 0; i < 65536; i++) {
      if ((i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0) continue; // NaNs
      if (floatToHalfBits(all[i]!) !== i) throw new Error(`f16 0x${i.toString(16)} does not round-trip`);
    }
  });

  it("integer and bool dtypes", () => {
    const i32 = new Uint8Array(new Int32Array([-3, 7]).buffer);
    const i64 = new Uint8Array(new BigInt64Array([-5n, 1n << 40n]).buffer);
    const file = rawFile(
      {
        i: { dtype: "I32", shape: [2], data_offsets: [0, 8] },
        l: { dtype: "I64", shape: [2], data_offsets: [8, 24] },
        b: { dtype: "BOOL", shape: [3], data_offsets: [24, 27] },
      },
      new Uint8Array([...i32, ...i64, 0, 1, 2]),
    );
    const st = Safetensors.fromBytes(file);
    expect([...st.read("i")]).toEqual([-3, 7]);
    expect([...st.read("l")]).toEqual([-5, 2 ** 40]);
    expect([...st.read("b")]).toEqual([0, 1, 1]);
  });
});

describe("corrupted files", () => {
  const ok = { dtype: "F32", shape: [2], data_offsets: [0, 8] };
  const cases: [string, Uint8Array, RegExp, string | undefined][] = [
    ["shorter than the length prefix", new Uint8Array(5), /too short/, undefined],
    [
      "header length past the bound",
      (() => {
        const b = new Uint8Array(16);
        new DataView(b.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES) + 1n, true);
        return b;
      })(),
      /exceeds/,
      undefined,
    ],
    [
      "header length past the end of the file",
      (() => {
        const b = rawFile({});
        new DataView(b.buffer).setBigUint64(0, 1000n, true);
        return b;
      })(),
      /runs past the end of the file/,
      undefined,
    ],
    ["header not JSON", rawFile(null, 0, "{not json"), /not valid JSON/, undefined],
    ["header not an object", rawFile(null, 0, "[1, 2]"), /does not start with/, undefined],
    [
      "header invalid UTF-8",
      rawFile(null, 0, '{"a\xff":1}').map((x, i) => (i === 11 ? 0xff : x)),
      /UTF-8/,
      undefined,
    ],
    ["entry not an object", rawFile({ w: 3 }), /not an object/, "w"],
    ["unknown dtype", rawFile({ w: { ...ok, dtype: "F13" } }, 8), /unknown dtype "F13"/, "w"],
    ["negative shape", rawFile({ w: { ...ok, shape: [-2] } }, 8), /shape/, "w"],
    ["fractional shape", rawFile({ w: { ...ok, shape: [1.5] } }, 8), /shape/, "w"],
    ["missing offsets", rawFile({ w: { dtype: "F32", shape: [2] } }, 8), /data_offsets/, "w"],
    ["offsets reversed", rawFile({ w: { ...ok, data_offsets: [8, 0] } }, 8), /end before they begin/, "w"],
    ["offsets past the data", rawFile({ w: { ...ok, data_offsets: [0, 8] } }, 4), /run past the end/, "w"],
    ["byte length disagrees with the shape", rawFile({ w: { ...ok, shape: [3] } }, 8), /needs 12 bytes/, "w"],
    [
      "byte length disagrees with the dtype",
      rawFile({ w: { ...ok, dtype: "F16" } }, 8),
      /needs 4 bytes/,
      "w",
    ],
    [
      "overlapping tensors",
      rawFile({ a: ok, b: { ...ok, data_offsets: [4, 12] } }, 12),
      /overlaps tensor "a"/,
      "b",
    ],
    ["a hole before a tensor", rawFile({ w: { ...ok, data_offsets: [4, 12] } }, 12), /hole/, "w"],
    ["trailing bytes", rawFile({ w: ok }, 12), /after the last tensor/, undefined],
    ["metadata not strings", rawFile({ __metadata__: { a: 1 } }), /__metadata__/, undefined],
    [
      "a huge shape (overflowing byte count)",
      rawFile({ w: { ...ok, shape: [2 ** 40, 2 ** 40] } }, 8),
      /needs/,
      "w",
    ],
  ];

  it.each(cases)("%s", (_what, bytes, message, tensor) => {
    const file = path.join(dir, "bad.safetensors");
    writeFileSync(file, bytes);
    for (const load of [() => Safetensors.fromBytes(bytes, file), () => Safetensors.open(file)]) {
      let caught: unknown;
      try {
        load();
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(SafetensorsError);
      const e = caught as SafetensorsError;
      expect(e.message).toMatch(message);
      expect(e.message).toContain(file);
      expect(e.file).toBe(file);
      expect(e.tensor).toBe(tensor);
      if (tensor) expect(e.message).toContain(`"${tensor}"`);
    }
  });

  it("a missing file and an unknown tensor name are SafetensorsErrors", () => {
    expect(() => Safetensors.open(path.join(dir, "absent.safetensors"))).toThrow(
      /absent\.safetensors: cannot open/,
    );
    const st = Safetensors.fromBytes(rawFile({ w: ok }, 8), "x.safetensors");
    expect(() => st.read("v")).toThrow(SafetensorsError);
    expect(() => st.read("v")).toThrow(/x\.safetensors: tensor "v": no such tensor/);
  });
});

describe("fuzz", () => {
  const expectOnlyTyped = (bytes: Uint8Array): void => {
    try {
      const st = Safetensors.fromBytes(bytes, "fuzz");
      for (const name of st.tensors.keys()) {
        if (!st.info(name).dtype.startsWith("F8")) st.read(name);
      }
    } catch (error) {
      if (!(error instanceof SafetensorsError)) throw error;
    }
  };

  const dtype = fc.constantFrom("F32", "F16", "BF16", "I64", "BOOL", "U8", "F8_E4M3", "X", 3, null);
  const entry = fc.oneof(
    fc.record({
      dtype,
      shape: fc.oneof(fc.array(fc.integer({ min: -2, max: 6 }), { maxLength: 3 }), fc.anything()),
      data_offsets: fc.oneof(
        fc.tuple(fc.nat(64), fc.nat(64)),
        fc.array(fc.integer(), { maxLength: 3 }),
        fc.anything(),
      ),
    }),
    fc.anything(),
  );
  const header = fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), fc.constant("__metadata__")), entry, {
    maxKeys: 5,
  });

  it("random headers: only SafetensorsError, never a hang", () => {
    fc.assert(
      fc.property(header, fc.nat(80), (h, dataLength) => {
        expectOnlyTyped(rawFile(h, dataLength));
      }),
      { numRuns: 1500 },
    );
  });

  it("random bytes and mutated valid files: only SafetensorsError", () => {
    const valid = encodeSafetensors([
      { name: "a", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
      { name: "b", shape: [3], data: new Float32Array([5, 6, 7]), dtype: "F16" },
    ]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expectOnlyTyped(bytes);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.byteLength - 1), fc.nat(255)), { maxLength: 4 }),
        fc.nat(valid.byteLength),
        (edits, cut) => {
          const bytes = valid.slice(0, cut === 0 ? valid.byteLength : cut);
          for (const [at, value] of edits) if (at < bytes.byteLength) bytes[at] = value;
          expectOnlyTyped(bytes);
        },
      ),
      { numRuns: 1500 },
    );
  });
});
