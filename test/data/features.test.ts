// `features(file)`: a cached-features file read as a source — rows become items carrying their feature
// vector, labels and groups; the class list and known count come from the metadata; a missing tensor, a
// disagreeing shape, a label outside the class list or a missing class list is a DataError naming the file
// and the tensor.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type TensorToWrite, writeSafetensors } from "../../runtime/checkpoint/index.ts";
import { featuresSource } from "../../runtime/data/sources/features.ts";
import { DataResolver } from "../../runtime/data/sources/resolve.ts";
import { DataError } from "../../runtime/data/sources/types.ts";

const dir = mkdtempSync(join(tmpdir(), "vlmp-features-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CLASSES = ["circle", "square", "star"];
const FEATURES = Float32Array.from({ length: 4 * 3 }, (_, i) => i / 10);

let files = 0;
function write(
  tensors: Partial<Record<"features" | "labels" | "groups", Omit<TensorToWrite, "name"> | null>>,
  metadata: Record<string, string> = { classes: JSON.stringify(CLASSES), known: "2" },
): string {
  const all = {
    features: { shape: [4, 3], data: FEATURES },
    labels: { shape: [4], data: Float32Array.of(0, 1, 2, 1) },
    ...tensors,
  };
  const file = join(dir, `f${files++}.safetensors`);
  writeSafetensors(
    file,
    Object.entries(all)
      .filter((e): e is [string, Omit<TensorToWrite, "name">] => e[1] !== null)
      .map(([name, t]) => ({ name, ...t })),
    metadata,
  );
  return file;
}

function dataError(make: () => unknown): DataError {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(DataError);
    return error as DataError;
  }
  throw new Error("expected a DataError");
}

describe("features(file)", () => {
  it("yields one item per row with its feature vector, label and group", () => {
    const file = write({ groups: { shape: [4], data: Float32Array.of(0, 0, 1, 3) } });
    const source = featuresSource(file);
    expect(source.classes).toEqual(CLASSES);
    expect(source.known).toBe(2);
    expect(source.cached).toEqual({ file, dim: 3 });
    expect(source.description).toBe(`features(${JSON.stringify(file)})`);
    expect(source.items.map((it) => [it.index, it.label, it.group])).toEqual([
      [0, 0, 0],
      [1, 1, 0],
      [2, 2, 1],
      [3, 1, 3],
    ]);
    expect([...source.items[2]!.features!]).toEqual([...FEATURES.subarray(6, 9)]);
    expect(source.items[2]!.path).toBe(`${file}#2`);
  });

  it("is what the resolver builds for a features call; known defaults to every class", () => {
    const file = write({}, { classes: JSON.stringify(CLASSES) });
    const resolver = new DataResolver({ test: { $call: "data.features", args: { file } } });
    const source = resolver.source({ $ref: "test" });
    expect(source.known).toBe(3);
    expect(source.items).toHaveLength(4);
    expect(source.items.every((it) => it.group === undefined)).toBe(true);
  });

  it("names the file and the tensor when a tensor is missing or misshapen", () => {
    expect(dataError(() => featuresSource(write({ features: null }))).message).toMatch(
      /f\d+\.safetensors: no tensor 'features' \[S, D\]/,
    );
    expect(dataError(() => featuresSource(write({ labels: null }))).message).toMatch(
      /no tensor 'labels' \[4\]/,
    );
    expect(
      dataError(() => featuresSource(write({ labels: { shape: [5], data: new Float32Array(5) } }))).message,
    ).toMatch(/tensor 'labels' is \[5\]; expected \[4\]/);
    expect(
      dataError(() => featuresSource(write({ features: { shape: [12], data: FEATURES } }))).message,
    ).toMatch(/tensor 'features' is \[12\]; expected \[S, D\]/);
    expect(
      dataError(() => featuresSource(write({ groups: { shape: [2, 2], data: new Float32Array(4) } })))
        .message,
    ).toMatch(/tensor 'groups' is \[2, 2\]; expected \[4\]/);
  });

  it("rejects labels outside the class list and groups that are not integers", () => {
    const labels = { shape: [4], data: Float32Array.of(0, 3, 1, 1) };
    expect(dataError(() => featuresSource(write({ labels }))).message).toMatch(
      /tensor 'labels' row 1 is 3; expected an integer in 0\.\.2/,
    );
    const groups = { shape: [4], data: Float32Array.of(0, 0.5, 1, 1) };
    expect(dataError(() => featuresSource(write({ groups }))).message).toMatch(
      /tensor 'groups' row 1 is 0\.5/,
    );
  });

  it("needs the class list in the metadata, and a known count within it", () => {
    expect(dataError(() => featuresSource(write({}, {}))).message).toMatch(
      /no class list: the metadata's 'classes' must be a JSON list of class names/,
    );
    expect(dataError(() => featuresSource(write({}, { classes: "circle" }))).message).toMatch(
      /cannot parse the class list/,
    );
    expect(
      dataError(() => featuresSource(write({}, { classes: JSON.stringify(CLASSES), known: "4" }))).message,
    ).toMatch(/'known' is '4'; expected the count of known classes, 1\.\.3/);
  });

  it("says how to make the file when it is missing, and names a file that is not safetensors", () => {
    const missing = join(dir, "nope.safetensors");
    const error = dataError(() => featuresSource(missing));
    expect(error.path).toBe(missing);
    expect(error.message).toMatch(/no such file \(cache a data set's features with 'vlmp embed SPEC --data/);
    const junk = join(dir, "junk.safetensors");
    writeFileSync(junk, "not a safetensors file at all");
    expect(dataError(() => featuresSource(junk)).path).toBe(junk);
  });
});
