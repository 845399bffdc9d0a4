// safetensors reader and writer, byte-exact per spec model.md §5.2 (reference: huggingface/safetensors).

import { readFile } from "node:fs/promises";
import { endianness } from "node:os";
import { writeFileAtomic } from "../io/atomic-write.js";

/** spec model.md §5.2: dtype → bits, in the reference `Dtype` enum order (the writer sorts by this rank). */
const dtypeBits = {
  BOOL: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8,
  F8_E4M3FNUZ: 8, F8_E5M2FNUZ: 8, I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32,
  C64: 64, F64: 64, I64: 64, U64: 64,
} as const;

export type SafetensorsDtype = keyof typeof dtypeBits;
export const safetensorsDtypes = Object.keys(dtypeBits) as SafetensorsDtype[];
const dtypeRank = new Map(safetensorsDtypes.map((dtype, rank) => [dtype, rank]));

/** spec §5.2: the dtypes the reader decodes; the rest are validated but only readable as raw bytes. */
const decodable = ["F32", "F64", "F16", "BF16", "I32", "I64", "U8", "I8", "BOOL"] as const;

/** Data of one tensor: a typed array of its dtype, or its raw little-endian bytes (Uint8Array). */
export type SafetensorsData =
  | Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array
  | Uint16Array | Int16Array | Uint32Array | BigUint64Array;

export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: SafetensorsData;
}

export interface SafetensorsFile {
  tensors: Map<string, SafetensorsTensor>; // in data order (by offset)
  metadata: Record<string, string>; // empty when the file has no __metadata__
}

export interface ReadSafetensorsOptions {
  /** Name used in error messages when reading bytes (default "<bytes>"). */
  label?: string;
  /** F16 and BF16 decode to Float32Array (default: their raw bits as Uint16Array). */
  widenHalf?: boolean;
  /** Every tensor's data is its raw bytes (Uint8Array); allows dtypes the reader does not decode. */
  raw?: boolean;
}

/** A malformed safetensors file or tensor; the message names the file, the tensor and the rule. */
export class SafetensorsError extends Error {
  constructor(readonly file: string, readonly tensor: string | undefined, rule: string) {
    super(tensor === undefined ? `${file}: ${rule}` : `${file}: tensor ${JSON.stringify(tensor)}: ${rule}`);
    this.name = "SafetensorsError";
  }
}

const MAX_HEADER_SIZE = 100_000_000n; // reference MAX_HEADER_SIZE
const littleEndianHost = endianness() === "LE"; // typed-array views and writes assume little-endian memory

function isDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === "string" && Object.hasOwn(dtypeBits, value);
}

/** Bytes of a tensor, computed in BigInt so no shape can overflow; undefined for a sub-byte remainder. */
function byteLength(dtype: SafetensorsDtype, shape: number[]): bigint | undefined {
  const bits = shape.reduce((product, dim) => product * BigInt(dim), 1n) * BigInt(dtypeBits[dtype]);
  return bits % 8n === 0n ? bits / 8n : undefined;
}

function describe(dtype: SafetensorsDtype, shape: number[]): string {
  return `${dtype} [${shape.join(", ")}]`;
}

/** Reads and validates a safetensors file (path) or its bytes. */
export async function readSafetensors(
  source: string | Uint8Array,
  options: ReadSafetensorsOptions = {},
): Promise<SafetensorsFile> {
  if (typeof source !== "string") return decodeSafetensors(source, options);
  return decodeSafetensors(await readFile(source), { ...options, label: options.label ?? source });
}

/** Validates and decodes safetensors bytes; typed arrays view `bytes` where alignment allows. */
export function decodeSafetensors(bytes: Uint8Array, options: ReadSafetensorsOptions = {}): SafetensorsFile {
  const file = options.label ?? "<bytes>";
  const fail = (rule: string, tensor?: string): never => {
    throw new SafetensorsError(file, tensor, rule);
  };
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > MAX_HEADER_SIZE) fail(`header length ${headerLength} exceeds the maximum ${MAX_HEADER_SIZE}`);
  const dataStart = 8 + Number(headerLength);
  if (dataStart > bytes.length) fail(`header length ${headerLength} runs past the end of the ${bytes.length}-byte file`);
  if (headerLength === 0n || bytes[8] !== 0x7b) fail(`header does not start with "{"`);
  let headerText = "";
  try {
    headerText = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, dataStart));
  } catch {
    fail("header is not valid UTF-8");
  }
  let header: Record<string, unknown> = {};
  try {
    header = JSON.parse(headerText) as Record<string, unknown>;
  } catch (error) {
    fail(`header is not valid JSON (${(error as Error).message})`);
  }
  const duplicate = firstDuplicateKey(headerText);
  if (duplicate !== undefined) fail(`header has duplicate key ${JSON.stringify(duplicate)}`);

  const metadata = parseMetadata(header.__metadata__, fail);
  const entries: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    entries.push({ name, ...parseTensorInfo(info, (rule) => fail(rule, name)) });
  }

  // spec §5.2: sorted by begin, the tensors tile the data buffer exactly.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataLength = bytes.length - dataStart;
  let expected = 0;
  let previous: string | undefined;
  for (const { name, dtype, shape, begin, end } of entries) {
    const offsets = `data_offsets [${begin}, ${end}]`;
    if (begin < expected) fail(`${offsets} overlap tensor ${JSON.stringify(previous)}, which ends at ${expected}`, name);
    if (begin > expected) {
      fail(`${offsets} leave a gap: bytes [${expected}, ${begin}) belong to no tensor`, name);
    }
    if (end > dataLength) fail(`${offsets} run past the end of the ${dataLength}-byte data buffer`, name);
    const needed = byteLength(dtype, shape);
    if (needed === undefined) fail(`${describe(dtype, shape)} is not a whole number of bytes`, name);
    if (BigInt(end - begin) !== needed) {
      fail(`${offsets} hold ${end - begin} bytes, ${describe(dtype, shape)} needs ${needed}`, name);
    }
    expected = end;
    previous = name;
  }
  if (expected !== dataLength) {
    fail(`tensors end at data offset ${expected} but the data buffer is ${dataLength} bytes (trailing bytes)`);
  }

  const tensors = new Map<string, SafetensorsTensor>();
  for (const { name, dtype, shape, begin, end } of entries) {
    const data = bytes.subarray(dataStart + begin, dataStart + end);
    tensors.set(name, { dtype, shape, data: options.raw ? data : decodeTensor(data, dtype, options, (rule) => fail(rule, name)) });
  }
  return { tensors, metadata };
}

function parseMetadata(value: unknown, fail: (rule: string) => never): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(`__metadata__ must be an object of string → string, got ${JSON.stringify(value)}`);
  }
  for (const [key, entry] of Object.entries(value as object)) {
    if (typeof entry !== "string") fail(`__metadata__ ${JSON.stringify(key)} must be a string, got ${JSON.stringify(entry)}`);
  }
  return Object.fromEntries(Object.entries(value as Record<string, string>));
}

function parseTensorInfo(
  info: unknown,
  fail: (rule: string) => never,
): { dtype: SafetensorsDtype; shape: number[]; begin: number; end: number } {
  if (typeof info !== "object" || info === null || Array.isArray(info)) fail(`entry must be an object, got ${JSON.stringify(info)}`);
  const { dtype, shape, data_offsets: offsets, ...extra } = info as Record<string, unknown>;
  const extraKeys = Object.keys(extra);
  if (extraKeys.length > 0) fail(`unexpected key ${JSON.stringify(extraKeys[0])} (allowed: dtype, shape, data_offsets)`);
  if (!isDtype(dtype)) fail(`unknown dtype ${JSON.stringify(dtype)} (known: ${safetensorsDtypes.join(", ")})`);
  // Safe integers only: JSON numbers above 2^53 lose precision, and no such offset fits in a Node buffer.
  const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    fail(`shape ${JSON.stringify(shape)} must be an array of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    fail(`data_offsets ${JSON.stringify(offsets)} must be [begin, end] non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) fail(`data_offsets [${begin}, ${end}] end before they begin`);
  return { dtype: dtype as SafetensorsDtype, shape: shape as number[], begin, end };
}

/** Scans valid JSON text for a repeated key in any object (JSON.parse silently keeps the last). */
function firstDuplicateKey(text: string): string | undefined {
  const stack: { keys: Set<string> | undefined; expectKey: boolean }[] = []; // keys undefined: an array
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    const top = stack[stack.length - 1];
    if (char === "{") stack.push({ keys: new Set(), expectKey: true });
    else if (char === "[") stack.push({ keys: undefined, expectKey: false });
    else if (char === "}" || char === "]") stack.pop();
    else if (char === ",") top.expectKey = top.keys !== undefined;
    else if (char === ":") top.expectKey = false;
    else if (char === '"') {
      let close = i + 1;
      while (text[close] !== '"') close += text[close] === "\\" ? 2 : 1;
      if (top.keys !== undefined && top.expectKey) {
        const key = JSON.parse(text.slice(i, close + 1)) as string; // unescaped, so "a" and "\u0061" collide
        if (top.keys.has(key)) return key;
        top.keys.add(key);
      }
      i = close;
    }
  }
  return undefined;
}

function decodeTensor(
  bytes: Uint8Array,
  dtype: SafetensorsDtype,
  options: ReadSafetensorsOptions,
  fail: (rule: string) => never,
): SafetensorsData {
  if (!littleEndianHost) fail("decoding needs a little-endian host; read with { raw: true }");
  switch (dtype) {
    case "F32": return new Float32Array(...view(bytes, 4));
    case "F64": return new Float64Array(...view(bytes, 8));
    case "I32": return new Int32Array(...view(bytes, 4));
    case "I64": return new BigInt64Array(...view(bytes, 8));
    case "U8": case "BOOL": return bytes;
    case "I8": return new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    case "F16": case "BF16": {
      const bits = new Uint16Array(...view(bytes, 2));
      if (!options.widenHalf) return bits;
      return dtype === "F16" ? widenF16(bits) : widenBF16(bits);
    }
    default:
      return fail(`dtype not supported for tensor: ${dtype} (decodable: ${decodable.join(", ")}; read with { raw: true } for its bytes)`);
  }
}

/** spec §5.2: a view when the absolute offset is a multiple of the element size, otherwise a copy. */
function view(bytes: Uint8Array, elementSize: number): [ArrayBufferLike, number, number] {
  const length = bytes.length / elementSize;
  if (bytes.byteOffset % elementSize === 0) return [bytes.buffer, bytes.byteOffset, length];
  return [bytes.slice().buffer, 0, length];
}

/** IEEE half → float32: normals and inf/NaN by rebiasing the bits, subnormals as mantissa · 2^-24. */
export function widenF16(halves: Uint16Array): Float32Array {
  const floats = new Float32Array(halves.length);
  const floatBits = new Uint32Array(floats.buffer);
  for (let i = 0; i < halves.length; i++) {
    const half = halves[i];
    const sign = (half & 0x8000) << 16;
    const exponent = (half >> 10) & 0x1f;
    const mantissa = half & 0x3ff;
    if (exponent === 0) floats[i] = (sign ? -1 : 1) * mantissa * 2 ** -24;
    else if (exponent === 0x1f) floatBits[i] = (sign | 0x7f800000 | (mantissa << 13)) >>> 0;
    else floatBits[i] = (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
  }
  return floats;
}

/** bfloat16 → float32: the top 16 bits of a float32 (spec §5.2: bits << 16). */
export function widenBF16(halves: Uint16Array): Float32Array {
  const floatBits = new Uint32Array(halves.length);
  for (let i = 0; i < halves.length; i++) floatBits[i] = halves[i] << 16 >>> 0;
  return new Float32Array(floatBits.buffer);
}

/** Typed-array kinds that imply a dtype; Uint8Array is raw bytes and fits any dtype. */
const arrayDtypes: [new (...args: never[]) => SafetensorsData, SafetensorsDtype[]][] = [
  [Float32Array, ["F32"]], [Float64Array, ["F64"]], [Int32Array, ["I32"]], [BigInt64Array, ["I64"]],
  [Int8Array, ["I8"]], [Uint16Array, ["F16", "BF16", "U16"]], [Int16Array, ["I16"]], [Uint32Array, ["U32"]],
  [BigUint64Array, ["U64"]],
];

/**
 * Encodes tensors byte-exactly as the reference writer (spec §5.2): sorted by dtype rank descending then
 * name byte-wise, contiguous from offset 0, compact JSON with `__metadata__` first (keys sorted), padded to 8.
 */
export function encodeSafetensors(
  tensors: Map<string, SafetensorsTensor> | Record<string, SafetensorsTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const fail = (tensor: string, rule: string): never => {
    throw new Error(`encodeSafetensors: tensor ${JSON.stringify(tensor)}: ${rule}`);
  };
  if (!littleEndianHost) throw new Error("encodeSafetensors: needs a little-endian host");
  const named = [...(tensors instanceof Map ? tensors : Object.entries(tensors))].map(([name, tensor]) => {
    const { dtype, shape, data } = tensor;
    if (name === "__metadata__") fail(name, "name is reserved for the metadata");
    if (!isDtype(dtype)) fail(name, `unknown dtype ${JSON.stringify(dtype)}`);
    if (!shape.every((dim) => Number.isSafeInteger(dim) && dim >= 0)) fail(name, `shape [${shape.join(", ")}] must be non-negative integers`);
    const kind = arrayDtypes.find(([type]) => data instanceof type);
    if (kind && !kind[1].includes(dtype)) fail(name, `${data.constructor.name} data cannot be dtype ${dtype}`);
    const needed = byteLength(dtype, shape);
    if (needed === undefined || BigInt(data.byteLength) !== needed) {
      fail(name, `data holds ${data.byteLength} bytes, ${describe(dtype, shape)} needs ${needed ?? "a whole number of bytes"}`);
    }
    return { name, nameBytes: Buffer.from(name, "utf8"), tensor };
  });
  named.sort((a, b) => dtypeRank.get(b.tensor.dtype)! - dtypeRank.get(a.tensor.dtype)! || Buffer.compare(a.nameBytes, b.nameBytes));

  const parts: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const key of keys) {
      if (typeof metadata[key] !== "string") throw new Error(`encodeSafetensors: __metadata__ ${JSON.stringify(key)} must be a string`);
    }
    parts.push(`"__metadata__":{${keys.map((key) => `${JSON.stringify(key)}:${JSON.stringify(metadata[key])}`).join(",")}}`);
  }
  let offset = 0;
  for (const { name, tensor } of named) {
    const end = offset + tensor.data.byteLength;
    parts.push(`${JSON.stringify(name)}:{"dtype":"${tensor.dtype}","shape":[${tensor.shape.join(",")}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = Buffer.from(`{${parts.join(",")}}`, "utf8");
  const headerLength = Math.ceil(json.length / 8) * 8;

  const output = new Uint8Array(8 + headerLength + offset);
  new DataView(output.buffer).setBigUint64(0, BigInt(headerLength), true);
  output.set(json, 8);
  output.fill(0x20, 8 + json.length, 8 + headerLength);
  let position = 8 + headerLength;
  for (const { tensor } of named) {
    output.set(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength), position);
    position += tensor.data.byteLength;
  }
  return output;
}

/** Writes a safetensors file atomically (temporary sibling, then rename). */
export async function writeSafetensors(
  file: string,
  tensors: Map<string, SafetensorsTensor> | Record<string, SafetensorsTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}
