// The index maps of spec model.md §5.3 on row-major float32 arrays. "In-out" is the TransformerLens / HF Conv1D
// orientation [in, out]; nn.Linear (nanoGPT, minGPT) stores [out, in].

import type { SafetensorsTensor } from "../safetensors.js";
import type { SourceReader } from "./source.js";

/** [rows, cols] → [cols, rows]: nn.Linear [out, in] ↔ in-out [in, out]. */
export function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** Per-head [H, d, dh] from columns offset..offset+H·dh of an in-out [d, cols] matrix: W[h,m,e] = M[m, offset+h·dh+e]. */
export function headsFromColumns(matrix: Float32Array, cols: number, offset: number, H: number, d: number, dh: number): Float32Array {
  const out = new Float32Array(H * d * dh);
  for (let h = 0; h < H; h++) {
    for (let m = 0; m < d; m++) {
      for (let e = 0; e < dh; e++) out[(h * d + m) * dh + e] = matrix[m * cols + offset + h * dh + e];
    }
  }
  return out;
}

/** Inverse of headsFromColumns: writes W [H, d, dh] into columns offset.. of the in-out [d, cols] matrix. */
export function headsIntoColumns(heads: Float32Array, matrix: Float32Array, cols: number, offset: number, H: number, d: number, dh: number): void {
  for (let h = 0; h < H; h++) {
    for (let m = 0; m < d; m++) {
      for (let e = 0; e < dh; e++) matrix[m * cols + offset + h * dh + e] = heads[(h * d + m) * dh + e];
    }
  }
}

/** A foreign weight read as an in-out [inputs, outputs] matrix, whichever orientation the source stores. */
export function readMatrix(reader: SourceReader, key: string, orientation: "linear" | "conv1d", inputs: number, outputs: number): Float32Array {
  if (orientation === "conv1d") return reader.take(key, [inputs, outputs]);
  return transpose(reader.take(key, [outputs, inputs]), outputs, inputs);
}

/** An in-out [inputs, outputs] matrix written in the foreign orientation (copied: outputs own their memory). */
export function writeMatrix(matrix: Float32Array, orientation: "linear" | "conv1d", inputs: number, outputs: number): SafetensorsTensor {
  return orientation === "conv1d" ? f32([inputs, outputs], matrix.slice()) : f32([outputs, inputs], transpose(matrix, inputs, outputs));
}

export function f32(shape: number[], data: Float32Array): SafetensorsTensor {
  return { dtype: "F32", shape, data };
}

export function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const bitsA = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const bitsB = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return bitsA.every((bits, i) => bits === bitsB[i]);
}
