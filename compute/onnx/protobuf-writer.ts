// A minimal protocol-buffers encoder: the wire types ONNX model files use (varint, fixed32, length-delimited).

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

/** Appends fields of one message; nested messages are written by another ProtoWriter and embedded. */
export class ProtoWriter {
  private readonly chunks: number[] = [];

  /** An int32/int64/enum/bool field (negative values take ten bytes, as protobuf's two's complement does). */
  varint(field: number, value: number | boolean): this {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(typeof value === "boolean" ? +value : value);
    return this;
  }

  /** A float field. */
  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const bytes = new Uint8Array(new Float32Array([value]).buffer);
    for (const byte of bytes) this.chunks.push(byte);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.rawVarint(value.length);
    for (const byte of value) this.chunks.push(byte);
    return this;
  }

  message(field: number, message: ProtoWriter): this {
    return this.bytes(field, message.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }

  private tag(field: number, wireType: number): void {
    this.rawVarint(field * 8 + wireType);
  }

  private rawVarint(value: number): void {
    if (!Number.isSafeInteger(value)) throw new RangeError(`protobuf varint: ${value} is not a safe integer`);
    let rest = BigInt.asUintN(64, BigInt(value));
    while (rest >= 0x80n) {
      this.chunks.push(Number(rest & 0x7fn) | 0x80);
      rest >>= 7n;
    }
    this.chunks.push(Number(rest));
  }
}
