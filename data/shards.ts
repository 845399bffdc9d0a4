// One activation shard: an Apache Arrow IPC file (one record batch) holding a fixed number of rows of one hook's
// activations with their game id, position and token, and schema metadata saying what they are. Python reads it
// with `pyarrow.ipc.open_file`; the layout is documented in README.md ("Activation cache").

import * as arrow from "apache-arrow";
import { widenF16 } from "../model/safetensors.js";

export const SHARD_METADATA_PREFIX = "sae_circuits.";
export type ActivationDtype = "float32" | "float16";

/** What a shard's schema metadata records (keys `sae_circuits.<field>`). */
export interface ShardMetadata {
  /** TransformerLens hook name, e.g. `blocks.2.hook_resid_post`. */
  hook: string;
  /** SHA-256 of the model's `model.safetensors`. */
  model_sha256: string;
  /** Activation width. */
  d: number;
  /** Storage type of the activations (float16 is widened to float32 on read). */
  dtype: ActivationDtype;
  /** The game dataset's content hash (boards/dataset-directory.ts) and split, `<hash>:<split>`. */
  dataset_id: string;
  /** Index of this shard within its hook. */
  shard_index: number;
}

/** Rows of one shard: activations row-major [rows, d] as float32 whatever the storage type. */
export interface ShardRows {
  activations: Float32Array;
  gameIds: readonly string[];
  positions: Int32Array;
  tokens: Int32Array;
}

export interface ActivationShard extends ShardRows {
  metadata: ShardMetadata;
  rows: number;
}

/** A shard that cannot be read or is not what its manifest says; the message names the shard. */
export class ShardError extends Error {
  constructor(
    readonly shard: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${shard}: ${message}`, options);
    this.name = "ShardError";
  }
}

/**
 * float32 → IEEE half bits, round to nearest even (overflow → ±inf, NaN kept), on the bits as in F. Giesen's
 * float_to_half_fast3_rtne. (apache-arrow's util.float64ToUint16 drops the rounding carry: 1.9999 → 1.)
 */
export function toFloat16Bits(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  const scratch = new Float32Array(1);
  const scratchBits = new Uint32Array(scratch.buffer);
  for (let i = 0; i < values.length; i++) {
    const sign = (bits[i] >>> 16) & 0x8000;
    const magnitude = bits[i] & 0x7fffffff;
    let half: number;
    if (magnitude >= 0x47800000) half = magnitude > 0x7f800000 ? 0x7e00 : 0x7c00; // ≥ 65536, inf, NaN
    else if (magnitude < 0x38800000) {
      // below 2^-14: a subnormal half; adding 0.5 in float32 rounds the value to a multiple of 2^-24 (nearest even)
      scratch[0] = Math.abs(values[i]) + 0.5;
      half = scratchBits[0] - 0x3f000000;
    } else {
      // rebias the exponent and round the 13 dropped mantissa bits to nearest even; a carry moves into the exponent
      half = (magnitude - 0x38000000 + 0xfff + ((magnitude >>> 13) & 1)) >>> 13;
    }
    out[i] = sign | half;
  }
  return out;
}

/** The Arrow IPC file bytes of one shard. */
export function encodeShard(metadata: ShardMetadata, rows: ShardRows): Uint8Array {
  const schemaMetadata = new Map(Object.entries(metadata).map(([key, value]) => [SHARD_METADATA_PREFIX + key, String(value)]));
  const table = activationTable(rows, metadata.d, metadata.dtype, schemaMetadata, `shard ${metadata.hook}#${metadata.shard_index}`);
  return arrow.tableToIPC(table, "file");
}

/**
 * A one-batch Arrow table of activation rows in the shard layout (activation FixedSizeList<dtype>[d], game_id,
 * position, token) with the given schema metadata; `label` names the rows in errors. The Parquet export reuses it.
 */
export function activationTable(rows: ShardRows, d: number, dtype: ActivationDtype, schemaMetadata: Map<string, string>, label: string): arrow.Table {
  const count = rows.positions.length;
  if (rows.activations.length !== count * d) {
    throw new RangeError(`${label}: ${rows.activations.length} activation values for ${count} rows of width ${d}`);
  }
  if (rows.gameIds.length !== count || rows.tokens.length !== count) {
    throw new RangeError(`${label}: columns have different lengths`);
  }
  const itemType = dtype === "float16" ? new arrow.Float16() : new arrow.Float32();
  const listType = new arrow.FixedSizeList(d, new arrow.Field("item", itemType, false));
  const values = dtype === "float16" ? toFloat16Bits(rows.activations) : rows.activations;
  const activation = arrow.makeData({
    type: listType,
    length: count,
    nullCount: 0,
    child: arrow.makeData({ type: itemType, length: count * d, nullCount: 0, data: values }),
  });
  const gameId = arrow.vectorFromArray(rows.gameIds as string[], new arrow.Utf8()).data[0];
  const position = arrow.makeData({ type: new arrow.Int32(), length: count, nullCount: 0, data: rows.positions });
  const token = arrow.makeData({ type: new arrow.Int32(), length: count, nullCount: 0, data: rows.tokens });
  const fields = [
    new arrow.Field("activation", listType, false),
    new arrow.Field("game_id", new arrow.Utf8(), false),
    new arrow.Field("position", new arrow.Int32(), false),
    new arrow.Field("token", new arrow.Int32(), false),
  ];
  const schema = new arrow.Schema(fields, schemaMetadata);
  const struct = arrow.makeData({ type: new arrow.Struct(fields), length: count, nullCount: 0, children: [activation, gameId, position, token] });
  return new arrow.Table([new arrow.RecordBatch(schema, struct)]);
}

/** Decodes and validates a shard's bytes (`label` names it in errors); float16 activations are widened. */
export function decodeShard(bytes: Uint8Array, label: string): ActivationShard {
  let table: arrow.Table;
  try {
    table = arrow.tableFromIPC(bytes);
  } catch (error) {
    throw new ShardError(label, `not a readable Arrow IPC file (${(error as Error).message})`, { cause: error });
  }
  const meta = table.schema.metadata;
  const field = (key: keyof ShardMetadata): string => {
    const value = meta.get(SHARD_METADATA_PREFIX + key);
    if (value === undefined) throw new ShardError(label, `schema metadata "${SHARD_METADATA_PREFIX}${key}" is missing`);
    return value;
  };
  const dtype = field("dtype");
  if (dtype !== "float32" && dtype !== "float16") throw new ShardError(label, `dtype "${dtype}" is not float32 or float16`);
  const metadata: ShardMetadata = {
    hook: field("hook"),
    model_sha256: field("model_sha256"),
    d: Number(field("d")),
    dtype,
    dataset_id: field("dataset_id"),
    shard_index: Number(field("shard_index")),
  };
  const rows = table.numRows;
  const column = (name: string): arrow.Vector => {
    const vector = table.getChild(name);
    if (vector === null) throw new ShardError(label, `column "${name}" is missing`);
    return vector;
  };
  const activation = column("activation");
  const listType = activation.type as arrow.DataType;
  const itemKind = dtype === "float16" ? arrow.Precision.HALF : arrow.Precision.SINGLE;
  if (
    !arrow.DataType.isFixedSizeList(listType) || listType.listSize !== metadata.d ||
    !arrow.DataType.isFloat(listType.children[0].type) || listType.children[0].type.precision !== itemKind
  ) {
    throw new ShardError(label, `column "activation" must be FixedSizeList<${dtype}>[${metadata.d}], found ${String(listType)}`);
  }
  const activations = new Float32Array(rows * metadata.d);
  let offset = 0;
  for (const chunk of activation.data) {
    // A decoded (unsliced) list's child holds the values of its rows from child.offset on.
    const child = chunk.children[0];
    const count = chunk.length * metadata.d;
    const raw = (child.values as Float32Array | Uint16Array).subarray(child.offset, child.offset + count);
    activations.set(dtype === "float16" ? widenF16(raw as Uint16Array) : (raw as Float32Array), offset);
    offset += count;
  }
  const ints = (name: string): Int32Array => {
    const vector = column(name);
    const type = vector.type as arrow.DataType;
    if (!arrow.DataType.isInt(type) || type.bitWidth !== 32 || !type.isSigned) throw new ShardError(label, `column "${name}" must be int32, found ${String(vector.type)}`);
    return Int32Array.from(vector.toArray() as Int32Array);
  };
  const gameIds = column("game_id").toArray() as string[];
  return { metadata, rows, activations, gameIds: Array.from(gameIds), positions: ints("position"), tokens: ints("token") };
}
