import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  safetensorsDtypes,
  widenBF16,
  widenF16,
  writeSafetensors,
  type SafetensorsData,
  type SafetensorsDtype,
  type SafetensorsTensor,
} from "../../model/safetensors.js";
import { seededRandom } from "../compute/random.js";

/** Builds a file by hand: 8-byte little-endian length, header text (+ padding spaces), then data bytes. */
function assemble(header: string | object, data: number[] = [], padding = 0, lengthOverride?: bigint): Uint8Array {
  const text = (typeof header === "string" ? header : JSON.stringify(header)) + " ".repeat(padding);
  const json = new TextEncoder().encode(text);
  const bytes = new Uint8Array(8 + json.length + data.length);
  new DataView(bytes.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  bytes.set(json, 8);
  bytes.set(data, 8 + json.length);
  return bytes;
}

const label = "model.safetensors";
const read = (bytes: Uint8Array, options = {}) => decodeSafetensors(bytes, { label, ...options });
const f32Bytes = (...values: number[]) => [...new Uint8Array(new Float32Array(values).buffer)];

function randomBytes(n: number, seed: number): Uint8Array {
  const next = seededRandom(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(next() * 256));
}

describe("safetensors round trip", () => {
  // Shapes chosen so sub-byte dtypes (F4, F6) fill whole bytes: 6 × 4 bits, 4 × 6 bits.
  const shapeOf = (dtype: SafetensorsDtype): number[] => (dtype === "F4" ? [2, 3] : dtype.startsWith("F6_") ? [4] : [2, 3]);
  const typed: Partial<Record<SafetensorsDtype, (bytes: Uint8Array) => SafetensorsData>> = {
    F32: (b) => new Float32Array(b.buffer), F64: (b) => new Float64Array(b.buffer), I32: (b) => new Int32Array(b.buffer),
    I64: (b) => new BigInt64Array(b.buffer), I8: (b) => new Int8Array(b.buffer), U16: (b) => new Uint16Array(b.buffer),
    F16: (b) => new Uint16Array(b.buffer), BF16: (b) => new Uint16Array(b.buffer), I16: (b) => new Int16Array(b.buffer),
    U32: (b) => new Uint32Array(b.buffer), U64: (b) => new BigUint64Array(b.buffer),
  };
  const tensors = new Map<string, SafetensorsTensor>();
  safetensorsDtypes.forEach((dtype, index) => {
    const shape = shapeOf(dtype);
    const bits = { F4: 4, F6_E2M3: 6, F6_E3M2: 6 }[dtype as string] ?? 0;
    const byteCount = bits ? (shape.reduce((a, b) => a * b) * bits) / 8 : 0;
    const element = { F16: 2, BF16: 2, I16: 2, U16: 2, F32: 4, I32: 4, U32: 4, F64: 8, I64: 8, U64: 8, C64: 8 }[dtype as string] ?? 1;
    let bytes = randomBytes(bits ? byteCount : 6 * element, 100 + index);
    if (dtype === "F32" || dtype === "F64") bytes = new Uint8Array((dtype === "F32" ? Float32Array : Float64Array).from([1.5, -2, 0, 3.25, 1e-3, -7]).buffer);
    if (dtype === "BOOL") bytes = Uint8Array.from([1, 0, 0, 1, 1, 0]);
    tensors.set(`t.${dtype}`, { dtype, shape, data: typed[dtype]?.(bytes) ?? bytes });
  });

  it("every dtype survives encode → decode byte for byte", () => {
    const encoded = encodeSafetensors(tensors, { format: "pt" });
    const raw = read(encoded, { raw: true });
    expect(raw.metadata).toEqual({ format: "pt" });
    expect([...raw.tensors.keys()].sort()).toEqual([...tensors.keys()].sort());
    for (const [name, original] of tensors) {
      const back = raw.tensors.get(name)!;
      expect(back.dtype).toBe(original.dtype);
      expect(back.shape).toEqual(original.shape);
      expect(back.data).toEqual(new Uint8Array(original.data.buffer, original.data.byteOffset, original.data.byteLength));
    }
  });

  it("decodes the spec's decodable dtypes to their typed arrays and refuses the rest by name", () => {
    const decodable = ["F32", "F64", "F16", "BF16", "I32", "I64", "U8", "I8", "BOOL"];
    const subset = new Map([...tensors].filter(([, t]) => decodable.includes(t.dtype)));
    const decoded = read(encodeSafetensors(subset));
    for (const [name, original] of subset) expect(decoded.tensors.get(name)!.data).toEqual(original.data);
    expect(decoded.tensors.get("t.F32")!.data).toBeInstanceOf(Float32Array);
    expect(decoded.tensors.get("t.I64")!.data).toBeInstanceOf(BigInt64Array);
    expect(() => read(encodeSafetensors(tensors))).toThrow(
      /^model\.safetensors: tensor "t\.U64": dtype not supported for tensor: U64/,
    );
  });

  it("writes the exact bytes of the reference layout: dtype rank, then name, metadata first, padded to 8", () => {
    const encoded = encodeSafetensors(
      {
        b: { dtype: "F32", shape: [1], data: Float32Array.of(2) },
        a: { dtype: "F32", shape: [2], data: Float32Array.of(0, 1) },
        c: { dtype: "I64", shape: [], data: BigInt64Array.of(-1n) },
        d: { dtype: "U8", shape: [0], data: new Uint8Array(0) },
      },
      { z: "last", format: "pt" },
    );
    const json =
      '{"__metadata__":{"format":"pt","z":"last"},' +
      '"c":{"dtype":"I64","shape":[],"data_offsets":[0,8]},' +
      '"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},' +
      '"b":{"dtype":"F32","shape":[1],"data_offsets":[16,20]},' +
      '"d":{"dtype":"U8","shape":[0],"data_offsets":[20,20]}}';
    const padding = (8 - (json.length % 8)) % 8;
    const data = [255, 255, 255, 255, 255, 255, 255, 255, ...f32Bytes(0, 1, 2)];
    expect(encoded).toEqual(assemble(json, data, padding));
    expect((encoded.length - data.length) % 8).toBe(0);
    const single = '{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
    expect(encodeSafetensors(new Map([["x", { dtype: "U8", shape: [1], data: Uint8Array.of(7) }]]))).toEqual(
      assemble(single, [7], (8 - (single.length % 8)) % 8),
    );
  });

  it("matches the byte strings published in the reference's own tests (bindings/python/tests/test_pt_comparison.py)", () => {
    const latin1 = (text: string) => Uint8Array.from(text, (char) => char.charCodeAt(0));
    const intFile = latin1('@\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}    ' +
      "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00");
    expect(encodeSafetensors({ test: { dtype: "I32", shape: [2, 2], data: Int32Array.of(0, 0, 0, 1) } })).toEqual(intFile);
    const bf16File = latin1('@\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]}}    \x10@\x80?\x80?\x80?');
    expect(encodeSafetensors({ test: { dtype: "BF16", shape: [2, 2], data: Uint16Array.of(0x4010, 0x3f80, 0x3f80, 0x3f80) } })).toEqual(bf16File);
    expect(read(bf16File, { widenHalf: true }).tensors.get("test")!.data).toEqual(Float32Array.of(2.25, 1, 1, 1));
  });

  it("writes atomically to disk and reads back by path, naming the path in errors", async () => {
    const directory = await mkdtemp(path.join(tmpdir(), "safetensors-"));
    try {
      const file = path.join(directory, "model.safetensors");
      await writeSafetensors(file, { w: { dtype: "F32", shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) } }, { producer: "sae-circuits" });
      expect(await readdir(directory)).toEqual(["model.safetensors"]);
      const back = await readSafetensors(file);
      expect(back.tensors.get("w")).toEqual({ dtype: "F32", shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) });
      expect(back.metadata).toEqual({ producer: "sae-circuits" });
      await expect(readSafetensors(path.join(directory, "missing"))).rejects.toThrow(/ENOENT/);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it("refuses to encode data that does not match dtype and shape", () => {
    expect(() => encodeSafetensors({ w: { dtype: "F32", shape: [5, 6], data: new Float32Array(29) } })).toThrow(
      'encodeSafetensors: tensor "w": data holds 116 bytes, F32 [5, 6] needs 120',
    );
    expect(() => encodeSafetensors({ w: { dtype: "F16", shape: [2], data: new Float32Array(1) } })).toThrow(
      'tensor "w": Float32Array data cannot be dtype F16',
    );
    expect(() => encodeSafetensors({ w: { dtype: "F4", shape: [3], data: new Uint8Array(2) } })).toThrow(
      "needs a whole number of bytes",
    );
  });
});

describe("safetensors reader on hand-assembled files", () => {
  it("reads tensors listed out of order, with metadata, padding, empty and scalar tensors", () => {
    const header = {
      "blocks.0.b": { dtype: "I32", shape: [2], data_offsets: [12, 20] },
      __metadata__: { format: "pt", note: "" },
      "blocks.0.a": { dtype: "F32", shape: [3], data_offsets: [0, 12] },
      empty: { dtype: "F32", shape: [0, 4], data_offsets: [20, 20] },
      scalar: { dtype: "I8", shape: [], data_offsets: [20, 21] },
    };
    const data = [...f32Bytes(1, -0.5, 3), 7, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x80];
    const file = read(assemble(header, data, 3));
    expect([...file.tensors.keys()]).toEqual(["blocks.0.a", "blocks.0.b", "empty", "scalar"]);
    expect(file.tensors.get("blocks.0.a")).toEqual({ dtype: "F32", shape: [3], data: Float32Array.of(1, -0.5, 3) });
    expect(file.tensors.get("blocks.0.b")!.data).toEqual(Int32Array.of(7, -2));
    expect(file.tensors.get("empty")!.data).toEqual(new Float32Array(0));
    expect(file.tensors.get("scalar")!.data).toEqual(Int8Array.of(-128));
    expect(file.metadata).toEqual({ format: "pt", note: "" });
  });

  it("views aligned data and copies unaligned data", () => {
    const header = { b: { dtype: "F32", shape: [1], data_offsets: [1, 5] }, a: { dtype: "U8", shape: [1], data_offsets: [0, 1] } };
    const text = JSON.stringify(header);
    const aligned = assemble(header, [9, ...f32Bytes(2.5)], (8 - ((text.length + 1) % 8)) % 8); // b starts 8-aligned
    const alignedFile = read(aligned);
    expect(alignedFile.tensors.get("b")!.data).toEqual(Float32Array.of(2.5));
    expect(alignedFile.tensors.get("b")!.data.buffer).toBe(aligned.buffer);
    const unaligned = assemble(header, [9, ...f32Bytes(2.5)], (8 - ((text.length + 2) % 8)) % 8);
    const unalignedFile = read(unaligned);
    expect(unalignedFile.tensors.get("b")!.data).toEqual(Float32Array.of(2.5));
    expect(unalignedFile.tensors.get("b")!.data.buffer).not.toBe(unaligned.buffer);
  });

  const f32 = (begin: number, end: number, shape = [(end - begin) / 4]) => ({ dtype: "F32", shape, data_offsets: [begin, end] });
  const cases: [string, () => Uint8Array, string | RegExp][] = [
    ["file shorter than 8 bytes", () => new Uint8Array(5), "model.safetensors: file is 5 bytes, shorter than the 8-byte header length"],
    ["oversized header", () => assemble({}, [], 0, 100_000_001n), "model.safetensors: header length 100000001 exceeds the maximum 100000000"],
    ["header length near 2^64", () => assemble({}, [], 0, 2n ** 64n - 1n), "header length 18446744073709551615 exceeds the maximum 100000000"],
    ["header length beyond file", () => assemble({}, [], 0, 40n), "model.safetensors: header length 40 runs past the end of the 10-byte file"],
    ["header not starting with {", () => assemble(' {"a":1}'), 'model.safetensors: header does not start with "{"'],
    ["invalid UTF-8", () => { const b = assemble('{"\u00e9":1}'); b[10] = 0xff; return b; }, "model.safetensors: header is not valid UTF-8"],
    ["invalid JSON", () => assemble('{"a":{"dtype":"F32",}}'), /^model\.safetensors: header is not valid JSON/],
    ["duplicate name", () => assemble(`{"w":${JSON.stringify(f32(0, 4))},"\\u0077":${JSON.stringify(f32(0, 4))}}`, f32Bytes(1)), 'model.safetensors: header has duplicate key "w"'],
    ["non-string metadata", () => assemble({ __metadata__: { step: 3 } }), 'model.safetensors: __metadata__ "step" must be a string, got 3'],
    ["metadata not an object", () => assemble({ __metadata__: ["a"] }), 'model.safetensors: __metadata__ must be an object of string → string, got ["a"]'],
    ["unknown dtype", () => assemble({ w: { dtype: "F128", shape: [1], data_offsets: [0, 16] } }, new Array(16).fill(0)), /^model\.safetensors: tensor "w": unknown dtype "F128" \(known: BOOL, F4/],
    ["negative shape entry", () => assemble({ w: { dtype: "F32", shape: [-1], data_offsets: [0, 0] } }), 'model.safetensors: tensor "w": shape [-1] must be an array of non-negative integers'],
    ["fractional offset", () => assemble({ w: { dtype: "F32", shape: [1], data_offsets: [0, 4.5] } }), 'tensor "w": data_offsets [0,4.5] must be [begin, end] non-negative integers'],
    ["end before begin", () => assemble({ w: { dtype: "U8", shape: [0], data_offsets: [4, 0] } }), 'model.safetensors: tensor "w": data_offsets [4, 0] end before they begin'],
    ["unexpected field", () => assemble({ w: { ...f32(0, 4), strides: [1] } }, f32Bytes(1)), 'tensor "w": unexpected key "strides"'],
    ["overlapping offsets", () => assemble({ a: f32(0, 8), b: f32(4, 12) }, f32Bytes(1, 2, 3)), 'model.safetensors: tensor "b": data_offsets [4, 12] overlap tensor "a", which ends at 8'],
    ["gap between tensors", () => assemble({ a: f32(0, 4), b: f32(8, 12) }, f32Bytes(1, 2, 3)), 'model.safetensors: tensor "b": data_offsets [8, 12] leave a gap: bytes [4, 8) belong to no tensor'],
    ["first tensor not at 0", () => assemble({ a: f32(4, 8) }, f32Bytes(1, 2)), 'tensor "a": data_offsets [4, 8] leave a gap: bytes [0, 4) belong to no tensor'],
    ["offsets past the end", () => assemble({ a: f32(0, 4), b: f32(4, 12) }, f32Bytes(1, 2)), 'model.safetensors: tensor "b": data_offsets [4, 12] run past the end of the 8-byte data buffer'],
    ["wrong dtype size", () => assemble({ "blocks.0.attn.W_Q": f32(0, 100, [5, 6]) }, new Array(100).fill(0)), 'model.safetensors: tensor "blocks.0.attn.W_Q": data_offsets [0, 100] hold 100 bytes, F32 [5, 6] needs 120'],
    ["shape product beyond 2^53", () => assemble({ w: { dtype: "F64", shape: [2 ** 30, 2 ** 30, 2 ** 10], data_offsets: [0, 8] } }, new Array(8).fill(0)), 'hold 8 bytes, F64 [1073741824, 1073741824, 1024] needs 9444732965739290427392'],
    ["sub-byte remainder", () => assemble({ w: { dtype: "F4", shape: [3], data_offsets: [0, 2] } }, [0, 0]), 'model.safetensors: tensor "w": F4 [3] is not a whole number of bytes'],
    ["trailing bytes", () => assemble({ a: f32(0, 4) }, f32Bytes(1, 2)), "model.safetensors: tensors end at data offset 4 but the data buffer is 8 bytes (trailing bytes)"],
  ];
  it.each(cases)("rejects %s", (_, bytes, message) => {
    expect(() => read(bytes())).toThrow(message);
  });

  it("accepts undecodable dtypes as raw bytes but names them when decoding", () => {
    const bytes = assemble({ q: { dtype: "F8_E4M3", shape: [2], data_offsets: [0, 2] } }, [0x38, 0xb8]);
    expect(read(bytes, { raw: true }).tensors.get("q")!.data).toEqual(Uint8Array.of(0x38, 0xb8));
    expect(() => read(bytes)).toThrow('model.safetensors: tensor "q": dtype not supported for tensor: F8_E4M3');
  });
});

describe("half-precision widening", () => {
  it("widens F16 bit patterns to hand-computed float32 values", () => {
    const cases: [number, number][] = [
      [0x3c00, 1], [0xc000, -2], [0x0000, 0], [0x3555, 0.333251953125], [0x7bff, 65504], [0xfbff, -65504],
      [0x0400, 2 ** -14], [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24], [0x8001, -(2 ** -24)],
      [0x7c00, Infinity], [0xfc00, -Infinity], [0x3800, 0.5], [0x4248, 3.140625],
    ];
    const widened = widenF16(Uint16Array.from(cases.map(([bits]) => bits)));
    cases.forEach(([bits, value], i) => expect(widened[i], `0x${bits.toString(16)}`).toBe(value));
    expect(Object.is(widenF16(Uint16Array.of(0x8000))[0], -0)).toBe(true);
    expect(widenF16(Uint16Array.of(0x7e00, 0xfc01))).toEqual(Float32Array.of(NaN, NaN));
  });

  it("widens BF16 bit patterns to hand-computed float32 values", () => {
    const cases: [number, number][] = [
      [0x3f80, 1], [0xc000, -2], [0x4049, 3.140625], [0x0001, 2 ** -133], [0x0080, 2 ** -126],
      [0x7f80, Infinity], [0xff80, -Infinity], [0x7f7f, 3.3895313892515355e38],
    ];
    const widened = widenBF16(Uint16Array.from(cases.map(([bits]) => bits)));
    cases.forEach(([bits, value], i) => expect(widened[i], `0x${bits.toString(16)}`).toBe(value));
    expect(Number.isNaN(widenBF16(Uint16Array.of(0x7fc0))[0])).toBe(true);
  });

  it("reads F16 and BF16 as raw bits by default and as float32 when asked", () => {
    const header = { h: { dtype: "F16", shape: [2], data_offsets: [0, 4] }, b: { dtype: "BF16", shape: [1], data_offsets: [4, 6] } };
    const bytes = assemble(header, [0x00, 0x3c, 0x00, 0xc0, 0x80, 0x3f]);
    expect(read(bytes).tensors.get("h")!.data).toEqual(Uint16Array.of(0x3c00, 0xc000));
    const widened = read(bytes, { widenHalf: true });
    expect(widened.tensors.get("h")!.data).toEqual(Float32Array.of(1, -2));
    expect(widened.tensors.get("b")).toEqual({ dtype: "BF16", shape: [1], data: Float32Array.of(1) });
  });
});
