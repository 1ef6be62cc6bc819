// safetensors, read and written by hand (no maintained npm reader exists). Layout: an 8-byte little-endian
// header length N, N bytes of JSON (`{"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
// "__metadata__": {string: string}}`, offsets relative to the end of the header), then the data. The
// reader checks everything the reference implementation does — bounded header, JSON object, known dtypes,
// shapes of non-negative integers, byte length = dtype size × elements, offsets inside the data, tensors
// neither overlapping nor leaving holes — and reports a bad file with a SafetensorsError naming the file and
// the tensor. Tensors decode to Float32Array (f16/bf16/f64 and integers converted), always into fresh
// memory, so unaligned data is fine.

import { closeSync, fstatSync, openSync, readSync, writeFileSync } from "node:fs";
import { floatToHalfBits, halfTable } from "../formats/half.ts";

/** The reference implementation's bound on the header. */
export const MAX_HEADER_BYTES = 100_000_000;

const DTYPE_BYTES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
} as const;

export type Dtype = keyof typeof DTYPE_BYTES;

export function dtypeBytes(dtype: Dtype): number {
  return DTYPE_BYTES[dtype];
}

function isDtype(value: unknown): value is Dtype {
  return typeof value === "string" && Object.hasOwn(DTYPE_BYTES, value);
}

/** A bad safetensors file: the message names the file and, where one is at fault, the tensor. */
export class SafetensorsError extends Error {
  constructor(
    readonly file: string,
    readonly tensor: string | undefined,
    readonly detail: string,
  ) {
    super(`${file}: ${tensor === undefined ? "" : `tensor ${JSON.stringify(tensor)}: `}${detail}`);
    this.name = "SafetensorsError";
  }
}

export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Element count (1 for a 0-d tensor). */
  size: number;
  /** Offsets of the tensor's bytes in the whole file. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Tensors in file order (by offset). */
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** Where the data starts (8 + header length). */
  dataStart: number;
}

/**
 * Parses and validates the header against the file size. `headerBytes` is the N bytes after the length
 * prefix.
 */
export function parseHeader(
  headerBytes: Uint8Array,
  headerLength: number,
  fileSize: number,
  file: string,
): SafetensorsHeader {
  const fail = (detail: string, tensor?: string): never => {
    throw new SafetensorsError(file, tensor, detail);
  };
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
  } catch {
    return fail("the header is not valid UTF-8");
  }
  if (!text.startsWith("{")) fail("the header does not start with '{' (not a safetensors file?)");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return fail(`the header is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return fail("the header is not a JSON object");
  }
  const dataStart = 8 + headerLength;
  const dataLength = fileSize - dataStart;
  const metadata: Record<string, string> = {};
  const infos: TensorInfo[] = [];
  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
        fail("__metadata__ is not an object of strings");
      }
      for (const [key, value] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof value !== "string") fail(`__metadata__.${key} is not a string`);
        metadata[key] = value as string;
      }
      continue;
    }
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      fail("the entry is not an object with dtype, shape and data_offsets", name);
    }
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (!isDtype(dtype)) {
      fail(
        `unknown dtype ${JSON.stringify(dtype)} (expected one of ${Object.keys(DTYPE_BYTES).join(", ")})`,
        name,
      );
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`, name);
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
    ) {
      fail(`data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`, name);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) fail(`data_offsets [${begin}, ${end}] end before they begin`, name);
    if (end > dataLength) {
      fail(`data_offsets [${begin}, ${end}] run past the end of the data (${dataLength} bytes)`, name);
    }
    let size = 1;
    for (const d of shape as number[]) size *= d;
    const bytes = size * DTYPE_BYTES[dtype as Dtype];
    if (!Number.isSafeInteger(bytes) || bytes !== end - begin) {
      fail(
        `${dtype} [${(shape as number[]).join(", ")}] needs ${bytes} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`,
        name,
      );
    }
    infos.push({
      name,
      dtype: dtype as Dtype,
      shape: shape as number[],
      size,
      begin: dataStart + begin,
      end: dataStart + end,
    });
  }
  infos.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = dataStart;
  for (const [i, info] of infos.entries()) {
    if (info.begin < cursor) fail(`overlaps tensor ${JSON.stringify(infos[i - 1]!.name)}`, info.name);
    if (info.begin > cursor) {
      fail(`${info.begin - cursor} bytes before it belong to no tensor (a hole in the data)`, info.name);
    }
    cursor = info.end;
  }
  if (cursor !== fileSize) {
    fail(`${fileSize - cursor} bytes after the last tensor belong to no tensor`);
  }
  return { tensors: new Map(infos.map((info) => [info.name, info])), metadata, dataStart };
}

function readHeaderLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8) {
    throw new SafetensorsError(file, undefined, `${fileSize} bytes is too short for a safetensors file`);
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const length = view.getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(
      file,
      undefined,
      `header length ${length} exceeds the ${MAX_HEADER_BYTES}-byte bound`,
    );
  }
  const n = Number(length);
  if (n + 8 > fileSize) {
    throw new SafetensorsError(
      file,
      undefined,
      `header length ${n} runs past the end of the file (${fileSize} bytes)`,
    );
  }
  return n;
}

/** Decodes little-endian tensor bytes of `dtype` to Float32Array (fresh memory). */
export function decodeToFloat32(
  bytes: Uint8Array,
  dtype: Dtype,
  size: number,
  file = "<memory>",
  tensor?: string,
): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(size);
  switch (dtype) {
    case "F32":
      for (let i = 0; i < size; i++) out[i] = view.getFloat32(4 * i, true);
      break;
    case "F16": {
      const table = halfTable();
      for (let i = 0; i < size; i++) out[i] = table[view.getUint16(2 * i, true)]!;
      break;
    }
    case "BF16": {
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < size; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      break;
    }
    case "F64":
      for (let i = 0; i < size; i++) out[i] = view.getFloat64(8 * i, true);
      break;
    case "I64":
      for (let i = 0; i < size; i++) out[i] = Number(view.getBigInt64(8 * i, true));
      break;
    case "U64":
      for (let i = 0; i < size; i++) out[i] = Number(view.getBigUint64(8 * i, true));
      break;
    case "I32":
      for (let i = 0; i < size; i++) out[i] = view.getInt32(4 * i, true);
      break;
    case "U32":
      for (let i = 0; i < size; i++) out[i] = view.getUint32(4 * i, true);
      break;
    case "I16":
      for (let i = 0; i < size; i++) out[i] = view.getInt16(2 * i, true);
      break;
    case "U16":
      for (let i = 0; i < size; i++) out[i] = view.getUint16(2 * i, true);
      break;
    case "I8":
      for (let i = 0; i < size; i++) out[i] = view.getInt8(i);
      break;
    case "U8":
      for (let i = 0; i < size; i++) out[i] = view.getUint8(i);
      break;
    case "BOOL":
      for (let i = 0; i < size; i++) out[i] = view.getUint8(i) === 0 ? 0 : 1;
      break;
    default:
      throw new SafetensorsError(file, tensor, `dtype ${dtype} cannot be decoded to f32`);
  }
  return out;
}

/** A validated safetensors file; tensors are read and decoded on demand. */
export class Safetensors {
  private constructor(
    readonly file: string,
    readonly header: SafetensorsHeader,
    private readonly readBytes: (begin: number, end: number) => Uint8Array,
  ) {}

  /** A file in memory (`file` names it in errors). */
  static fromBytes(bytes: Uint8Array, file = "<memory>"): Safetensors {
    const headerLength = readHeaderLength(bytes, bytes.byteLength, file);
    const header = parseHeader(bytes.subarray(8, 8 + headerLength), headerLength, bytes.byteLength, file);
    return new Safetensors(file, header, (begin, end) => bytes.subarray(begin, end));
  }

  /** A file on disk: the header is read and checked now, each tensor when asked for. */
  static open(path: string): Safetensors {
    const withFile = <T>(use: (fd: number) => T): T => {
      let fd: number;
      try {
        fd = openSync(path, "r");
      } catch (error) {
        throw new SafetensorsError(path, undefined, `cannot open: ${(error as Error).message}`);
      }
      try {
        return use(fd);
      } finally {
        closeSync(fd);
      }
    };
    const readAt = (fd: number, begin: number, length: number): Uint8Array => {
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, out, done, length - done, begin + done);
        if (n === 0) throw new SafetensorsError(path, undefined, "the file shrank while being read");
        done += n;
      }
      return out;
    };
    const header = withFile((fd) => {
      const size = fstatSync(fd).size;
      const prefix = readAt(fd, 0, Math.min(8, size));
      const headerLength = readHeaderLength(prefix, size, path);
      return parseHeader(readAt(fd, 8, headerLength), headerLength, size, path);
    });
    return new Safetensors(path, header, (begin, end) => withFile((fd) => readAt(fd, begin, end - begin)));
  }

  get tensors(): Map<string, TensorInfo> {
    return this.header.tensors;
  }

  get metadata(): Record<string, string> {
    return this.header.metadata;
  }

  info(name: string): TensorInfo {
    const info = this.header.tensors.get(name);
    if (!info) throw new SafetensorsError(this.file, name, "no such tensor in the file");
    return info;
  }

  /** The tensor's raw little-endian bytes. */
  bytes(name: string): Uint8Array {
    const info = this.info(name);
    return this.readBytes(info.begin, info.end);
  }

  /** The tensor decoded to Float32Array (fresh memory; f16/bf16/f64 and integer dtypes converted). */
  read(name: string): Float32Array {
    const info = this.info(name);
    return decodeToFloat32(this.readBytes(info.begin, info.end), info.dtype, info.size, this.file, name);
  }
}

// --- writing ------------------------------------------------------------------------------------------------

export interface TensorToWrite {
  name: string;
  shape: readonly number[];
  data: Float32Array | Float64Array;
  /** Stored dtype: F32 (default), F16 (rounded to nearest even) or F64 (exact, for training state). */
  dtype?: "F32" | "F16" | "F64";
}

/** A safetensors file's bytes: tensors in the order given, header padded with spaces to 8 bytes. */
export function encodeSafetensors(
  tensors: readonly TensorToWrite[],
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header["__metadata__"] = metadata;
  let offset = 0;
  const seen = new Set<string>();
  for (const t of tensors) {
    if (seen.has(t.name) || t.name === "__metadata__") {
      throw new SafetensorsError("<writer>", t.name, "duplicate or reserved tensor name");
    }
    seen.add(t.name);
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) {
      throw new SafetensorsError(
        "<writer>",
        t.name,
        `shape [${t.shape.join(", ")}] holds ${size} values, data ${t.data.length}`,
      );
    }
    const dtype = t.dtype ?? "F32";
    const bytes = size * DTYPE_BYTES[dtype];
    header[t.name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const encoder = new TextEncoder();
  let headerBytes = encoder.encode(json);
  const padded = Math.ceil(headerBytes.byteLength / 8) * 8;
  json += " ".repeat(padded - headerBytes.byteLength);
  headerBytes = encoder.encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let cursor = 8 + headerBytes.byteLength;
  for (const t of tensors) {
    if ((t.dtype ?? "F32") === "F32") {
      for (let i = 0; i < t.data.length; i++) view.setFloat32(cursor + 4 * i, t.data[i]!, true);
      cursor += 4 * t.data.length;
    } else if (t.dtype === "F64") {
      for (let i = 0; i < t.data.length; i++) view.setFloat64(cursor + 8 * i, t.data[i]!, true);
      cursor += 8 * t.data.length;
    } else {
      for (let i = 0; i < t.data.length; i++)
        view.setUint16(cursor + 2 * i, floatToHalfBits(t.data[i]!), true);
      cursor += 2 * t.data.length;
    }
  }
  return out;
}

export function writeSafetensors(
  path: string,
  tensors: readonly TensorToWrite[],
  metadata?: Record<string, string>,
): void {
  writeFileSync(path, encodeSafetensors(tensors, metadata));
}
