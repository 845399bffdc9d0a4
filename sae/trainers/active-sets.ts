// Active sets and the sparse products of sparse-kernel training (spec sae.md §7), shared by every SAE whose features
// pass straight through on their active set (ReLU: standard, p_anneal; top-k of a ReLU: topk, batch_topk and AuxK).
// Plain TypeScript loops over typed arrays, four entries at a time and accumulated in float64; no Kernels call, so
// every provider runs them alike. Held equal to the dense sgemm path by test/sae/sparse-relu-sae.test.ts.
//
// Interface:
//   ActiveSets(dSae)                            the nonzero entries of f [B, dSae]: by row (CSR: rowOffsets,
//                                               featureIndices, values) and by feature (CSC: featureOffsets,
//                                               columnRows, columnValues)
//     gather(features, B, maxActive) → boolean  fills the by-row sets from f ≠ 0; false, sets incomplete, as soon as
//                                               more than maxActive entries are found (the auto switch gives up)
//     gatherColumns(compact, B, columns, width)   the same from a compact [B, width] matrix of features columns[j]
//     indexByFeature()                          fills the by-feature view from the by-row one (sparseBackward needs it)
//     activeFraction                            nnz / (B·dSae)
//   sparseDecode(sets, W_dec, dIn, bias, out)   out_b = bias + Σ_{i∈A_b} f_{b,i}·W_dec[i,:] (bias null: AuxK, no b_dec)
//   sparseBackward(input, out, accumulate)      on the active entries only: ∂L/∂z = g_b·W_dec[i,:] + sparsity
//                                               gradient; dW_dec rows, dW_enc columns, db_enc (spec §7 formulas)
//
// TopK / BatchTopK: gather the kept entries of f (selected zeros are left out: they add nothing to x̂ and pass no
// gradient, ReLU′ = 0 there); AuxK (spec §2.5): a second ActiveSets over f_aux, sparseDecode(..., bias null), then
// sparseBackward(auxInput, grads, accumulate true) after the main one; db_dec = Σ_b g_b − W_enc·db_enc once, at the end.

export class ActiveSets {
  batchSize = 0;
  /** Active entries in the sets (complete only after a gather that returned true). */
  nnz = 0;
  rowOffsets = new Int32Array(1); // [B + 1] entries of row b: [rowOffsets[b], rowOffsets[b + 1])
  featureIndices = new Int32Array(0); // [capacity] feature i of each entry, increasing within a row
  values = new Float32Array(0); // [capacity] f_{b,i}
  readonly featureOffsets: Int32Array; // [dSae + 1] entries of feature i: [featureOffsets[i], featureOffsets[i + 1])
  columnRows = new Int32Array(0); // [capacity] row b of each by-feature entry, increasing within a feature
  columnValues = new Float32Array(0); // [capacity] f_{b,i} in by-feature order
  private readonly cursor: Int32Array; // [dSae] scratch of indexByFeature

  constructor(readonly dSae: number) {
    this.featureOffsets = new Int32Array(dSae + 1);
    this.cursor = new Int32Array(dSae);
  }

  get activeFraction(): number {
    return this.batchSize === 0 ? 0 : this.nnz / (this.batchSize * this.dSae);
  }

  /** Room for `capacity` entries, keeping the first `keep`. */
  private reserve(capacity: number, keep: number): void {
    if (this.featureIndices.length >= capacity) return;
    const indices = new Int32Array(capacity);
    const values = new Float32Array(capacity);
    indices.set(this.featureIndices.subarray(0, keep));
    values.set(this.values.subarray(0, keep));
    this.featureIndices = indices;
    this.values = values;
  }

  /**
   * The by-row sets A_b = {i : f_{b,i} ≠ 0} of features [batchSize, dSae]. Returns false as soon as more than
   * `maxActive` entries are found (the sets are then incomplete and must not be used).
   */
  gather(features: Float32Array, batchSize: number, maxActive = Number.POSITIVE_INFINITY): boolean {
    const { dSae } = this;
    if (features.length !== batchSize * dSae) {
      throw new RangeError(`ActiveSets.gather: features has ${features.length} values, expected [${batchSize}, ${dSae}] = ${batchSize * dSae}`);
    }
    if (this.rowOffsets.length !== batchSize + 1) this.rowOffsets = new Int32Array(batchSize + 1);
    this.batchSize = batchSize;
    const limit = Math.min(maxActive, batchSize * dSae);
    this.reserve(Math.min(limit, Math.max(1024, batchSize * 8)), 0);
    const rowOffsets = this.rowOffsets;
    // the bits of f: one integer test skips four +0 entries at once; the float test below decides the rest
    const bits = new Int32Array(features.buffer, features.byteOffset, features.length);
    let indices = this.featureIndices;
    let values = this.values;
    let n = 0;
    for (let b = 0; b < batchSize; b++) {
      rowOffsets[b] = n;
      const o = b * dSae;
      for (let i = 0; i < dSae; i += 4) {
        const o4 = o + i;
        if (i + 4 <= dSae && (bits[o4] | bits[o4 + 1] | bits[o4 + 2] | bits[o4 + 3]) === 0) continue;
        for (let q = i; q < i + 4 && q < dSae; q++) {
          const value = features[o + q];
          if (value === 0) continue;
          if (n === indices.length) {
            if (n >= limit) {
              this.nnz = n;
              return false;
            }
            this.reserve(Math.min(limit, 2 * n), n);
            indices = this.featureIndices;
            values = this.values;
          }
          indices[n] = q;
          values[n] = value;
          n++;
        }
      }
    }
    rowOffsets[batchSize] = n;
    this.nnz = n;
    return true;
  }

  /**
   * The by-row sets of a compact [batchSize, width] matrix whose column j is feature columns[j] (columns increasing,
   * e.g. AuxK's f_aux over the dead features): entries ≠ 0, by feature index. Always complete (no maxActive).
   */
  gatherColumns(compact: Float32Array, batchSize: number, columns: Int32Array, width: number): void {
    const { dSae } = this;
    if (compact.length !== batchSize * width) {
      throw new RangeError(`ActiveSets.gatherColumns: compact has ${compact.length} values, expected [${batchSize}, ${width}] = ${batchSize * width}`);
    }
    if (columns.length < width) throw new RangeError(`ActiveSets.gatherColumns: ${columns.length} column indices for width ${width}`);
    for (let j = 0; j < width; j++) {
      if (!(columns[j] >= 0 && columns[j] < dSae) || (j > 0 && columns[j] <= columns[j - 1])) {
        throw new RangeError(`ActiveSets.gatherColumns: columns[${j}] = ${columns[j]}, expected increasing feature indices in [0, ${dSae})`);
      }
    }
    if (this.rowOffsets.length !== batchSize + 1) this.rowOffsets = new Int32Array(batchSize + 1);
    this.batchSize = batchSize;
    let n = 0;
    for (let e = 0; e < compact.length; e++) if (compact[e] !== 0) n++;
    this.reserve(n, 0);
    const { rowOffsets, featureIndices: indices, values } = this;
    n = 0;
    for (let b = 0; b < batchSize; b++) {
      rowOffsets[b] = n;
      const o = b * width;
      for (let j = 0; j < width; j++) {
        const value = compact[o + j];
        if (value === 0) continue;
        indices[n] = columns[j];
        values[n] = value;
        n++;
      }
    }
    rowOffsets[batchSize] = n;
    this.nnz = n;
  }

  /** The by-feature (CSC) view of the by-row sets, by a counting sort (rows stay in increasing order). */
  indexByFeature(): void {
    const { dSae, nnz, batchSize, rowOffsets, featureIndices, values, featureOffsets, cursor } = this;
    if (this.columnRows.length < nnz) {
      this.columnRows = new Int32Array(this.featureIndices.length);
      this.columnValues = new Float32Array(this.featureIndices.length);
    }
    const { columnRows, columnValues } = this;
    featureOffsets.fill(0);
    for (let e = 0; e < nnz; e++) featureOffsets[featureIndices[e] + 1]++;
    for (let i = 0; i < dSae; i++) featureOffsets[i + 1] += featureOffsets[i];
    cursor.set(featureOffsets.subarray(0, dSae));
    for (let b = 0; b < batchSize; b++) {
      for (let e = rowOffsets[b]; e < rowOffsets[b + 1]; e++) {
        const slot = cursor[featureIndices[e]]++;
        columnRows[slot] = b;
        columnValues[slot] = values[e];
      }
    }
  }
}

/** out_b = bias + Σ_{i∈A_b} f_{b,i}·W_dec[i,:] for every row (spec §7 decoder forward); bias null adds nothing. */
export function sparseDecode(sets: ActiveSets, W_dec: Float32Array, dIn: number, bias: Float32Array | null, out: Float32Array): void {
  const { batchSize, rowOffsets, featureIndices: index, values } = sets;
  if (out.length !== batchSize * dIn) throw new RangeError(`sparseDecode: out has ${out.length} values, expected [${batchSize}, ${dIn}] = ${batchSize * dIn}`);
  if (W_dec.length !== sets.dSae * dIn) throw new RangeError(`sparseDecode: W_dec has ${W_dec.length} values, expected [${sets.dSae}, ${dIn}]`);
  const acc = new Float64Array(dIn);
  for (let b = 0; b < batchSize; b++) {
    if (bias === null) acc.fill(0);
    else for (let j = 0; j < dIn; j++) acc[j] = bias[j];
    const end = rowOffsets[b + 1];
    let e = rowOffsets[b];
    for (; e + 3 < end; e += 4) {
      const w0 = index[e] * dIn, w1 = index[e + 1] * dIn, w2 = index[e + 2] * dIn, w3 = index[e + 3] * dIn;
      const f0 = values[e], f1 = values[e + 1], f2 = values[e + 2], f3 = values[e + 3];
      for (let j = 0; j < dIn; j++) acc[j] += f0 * W_dec[w0 + j] + f1 * W_dec[w1 + j] + f2 * W_dec[w2 + j] + f3 * W_dec[w3 + j];
    }
    for (; e < end; e++) {
      const w = index[e] * dIn;
      const f = values[e];
      for (let j = 0; j < dIn; j++) acc[j] += f * W_dec[w + j];
    }
    const o = b * dIn;
    for (let j = 0; j < dIn; j++) out[o + j] = acc[j];
  }
}

/** Features whose W_enc columns are accumulated together: one 64-byte line of a W_enc row. */
const FEATURE_BLOCK = 16;

export interface SparseBackwardInput {
  /** Active sets with their by-feature view (indexByFeature). */
  sets: ActiveSets;
  dIn: number;
  /** [B, dIn] g_b = ∂L/∂x̂_b. */
  outputGrad: Float32Array;
  /** [B, dIn] the encoder's input (x_b − b_dec, or x_b where b_dec is not subtracted). */
  encoderInput: Float32Array;
  /** [dSae, dIn] */
  W_dec: Float32Array;
  /** [B, dSae] ∂(sparsity)/∂f, read on the active entries only; null when the sparsity term is l1PerRow alone. */
  featureGrad: Float32Array | null;
  /** Added to ∂L/∂f on every active entry (L1: λ·σ(s)/B). */
  l1PerRow: number;
}

export interface SparseGradients {
  W_dec: Float32Array; // [dSae, dIn]
  W_enc: Float32Array; // [dIn, dSae]
  b_enc: Float32Array; // [dSae]
}

/**
 * spec §7 backward over the active entries (∂f/∂z = 1 there: ReLU or top-k pass-through):
 * ∂L/∂z_{b,i} = g_b·W_dec[i,:] + l1PerRow + featureGrad_{b,i}; dW_dec[i,:] = Σ_b f_{b,i}·g_b;
 * dW_enc[:,i] = Σ_b ∂L/∂z_{b,i}·encoderInput_b; db_enc,i = Σ_b ∂L/∂z_{b,i}. Rows and columns of features inactive in
 * the batch get exactly 0 (accumulate false) or are left as they are (accumulate true: adds to `out`, for AuxK).
 * db_dec is left to the caller (Σ_b g_b − W_enc·db_enc, two Kernels calls).
 */
export function sparseBackward(input: SparseBackwardInput, out: SparseGradients, accumulate: boolean): void {
  const { sets, dIn, outputGrad: g, encoderInput: c, W_dec, featureGrad, l1PerRow } = input;
  const { dSae, batchSize, featureOffsets, columnRows, columnValues } = sets;
  for (const [name, array, length] of [
    ["outputGrad", g, batchSize * dIn], ["encoderInput", c, batchSize * dIn], ["W_dec", W_dec, dSae * dIn],
    ["grads.W_dec", out.W_dec, dSae * dIn], ["grads.W_enc", out.W_enc, dIn * dSae], ["grads.b_enc", out.b_enc, dSae],
  ] as const) {
    if (array.length !== length) throw new RangeError(`sparseBackward: ${name} has ${array.length} values, expected ${length}`);
  }
  if (featureGrad !== null && featureGrad.length !== batchSize * dSae) {
    throw new RangeError(`sparseBackward: featureGrad has ${featureGrad.length} values, expected [${batchSize}, ${dSae}]`);
  }
  if (!accumulate) {
    out.W_dec.fill(0);
    out.W_enc.fill(0);
    out.b_enc.fill(0);
  }
  const dW_dec = out.W_dec;
  const dW_enc = out.W_enc;
  const decoderRow = new Float64Array(dIn); // Σ_b f_{b,i}·g_b
  // Σ_b ∂L/∂z_{b,i}·c_b of FEATURE_BLOCK features, written into W_enc's rows a block at a time (not column by column)
  const encoderBlock = new Float64Array(FEATURE_BLOCK * dIn);
  const sparsityAt = (b: number, i: number) => l1PerRow + (featureGrad === null ? 0 : featureGrad[b * dSae + i]);
  for (let i0 = 0; i0 < dSae; i0 += FEATURE_BLOCK) {
    const i1 = Math.min(dSae, i0 + FEATURE_BLOCK);
    if (featureOffsets[i0] === featureOffsets[i1]) continue;
    encoderBlock.fill(0);
    for (let i = i0; i < i1; i++) {
      const start = featureOffsets[i];
      const end = featureOffsets[i + 1];
      if (start === end) continue;
      const w = i * dIn;
      const acc = (i - i0) * dIn;
      decoderRow.fill(0);
      let biasGrad = 0;
      let e = start;
      for (; e + 3 < end; e += 4) {
        const b0 = columnRows[e], b1 = columnRows[e + 1], b2 = columnRows[e + 2], b3 = columnRows[e + 3];
        const r0 = b0 * dIn, r1 = b1 * dIn, r2 = b2 * dIn, r3 = b3 * dIn;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let j = 0; j < dIn; j++) {
          const wj = W_dec[w + j];
          s0 += g[r0 + j] * wj;
          s1 += g[r1 + j] * wj;
          s2 += g[r2 + j] * wj;
          s3 += g[r3 + j] * wj;
        }
        const z0 = s0 + sparsityAt(b0, i), z1 = s1 + sparsityAt(b1, i), z2 = s2 + sparsityAt(b2, i), z3 = s3 + sparsityAt(b3, i);
        biasGrad += z0 + z1 + z2 + z3;
        const f0 = columnValues[e], f1 = columnValues[e + 1], f2 = columnValues[e + 2], f3 = columnValues[e + 3];
        for (let j = 0; j < dIn; j++) {
          decoderRow[j] += f0 * g[r0 + j] + f1 * g[r1 + j] + f2 * g[r2 + j] + f3 * g[r3 + j];
          encoderBlock[acc + j] += z0 * c[r0 + j] + z1 * c[r1 + j] + z2 * c[r2 + j] + z3 * c[r3 + j];
        }
      }
      for (; e < end; e++) {
        const b = columnRows[e];
        const r = b * dIn;
        let s = 0;
        for (let j = 0; j < dIn; j++) s += g[r + j] * W_dec[w + j];
        const dz = s + sparsityAt(b, i);
        biasGrad += dz;
        const f = columnValues[e];
        for (let j = 0; j < dIn; j++) {
          decoderRow[j] += f * g[r + j];
          encoderBlock[acc + j] += dz * c[r + j];
        }
      }
      for (let j = 0; j < dIn; j++) dW_dec[w + j] += decoderRow[j];
      out.b_enc[i] += biasGrad;
    }
    const width = i1 - i0;
    for (let j = 0; j < dIn; j++) {
      const o = j * dSae + i0;
      for (let t = 0; t < width; t++) dW_enc[o + t] += encoderBlock[t * dIn + j];
    }
  }
}
