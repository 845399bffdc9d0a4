// Top-k selection with the spec's tie rule (spec sae.md §2.5, §2.6): keep the k largest entries of a range — one row
// of a (TopK), the whole B × d_sae matrix (BatchTopK), the dead features of a row (AuxK) — ties → lower index, every
// other entry set to 0. Shared by the inference encode (sae/params.ts) and the TopK-family trainers.
//
// Interface:
//   kthLargest(values, length, k) → { value, greater }   the k-th largest of values[0, length) and how many entries
//                                                         are strictly greater; reorders `values` (quickselect)
//   keepTopK(source, target, start, length, k, scratch, keptMask?)
//                                                         target[p] = source[p] on the k kept positions of
//                                                         [start, start + length), 0 elsewhere; keptMask[p − start] = 1
//                                                         for each kept position (selected zeros included)

/** The k-th largest (1 ≤ k ≤ length) of values[0, length) by 3-way quickselect; `values` is reordered. */
export function kthLargest(values: Float32Array, length: number, k: number): { value: number; greater: number } {
  if (!Number.isInteger(k) || k < 1 || k > length) throw new RangeError(`kthLargest: k = ${k}, expected an integer in [1, ${length}]`);
  const target = length - k; // its position in ascending order
  let lo = 0;
  let hi = length - 1;
  for (;;) {
    if (lo === hi) return { value: values[lo], greater: length - 1 - lo };
    const a = values[lo];
    const b = values[(lo + hi) >>> 1];
    const c = values[hi];
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b; // median of three
    // Dijkstra partition of [lo, hi] into < pivot [lo, lt), = pivot [lt, gt], > pivot (gt, hi]
    let lt = lo;
    let gt = hi;
    let i = lo;
    while (i <= gt) {
      const value = values[i];
      if (value < pivot) {
        values[i++] = values[lt];
        values[lt++] = value;
      } else if (value > pivot) {
        values[i] = values[gt];
        values[gt--] = value;
      } else i++;
    }
    if (target < lt) hi = lt - 1;
    else if (target > gt) lo = gt + 1;
    else return { value: pivot, greater: length - 1 - gt }; // everything right of gt (now and discarded) is larger
  }
}

/**
 * Keeps the k largest of source[start, start + length) at their positions in `target` and zeroes the rest; among
 * equal values at the boundary the lower positions are kept. `scratch` (≥ length floats, written from index 0; not
 * `source`, but `target` itself when target ≠ source and start = 0) is overwritten. target may be source (in place).
 */
export function keepTopK(
  source: Float32Array,
  target: Float32Array,
  start: number,
  length: number,
  k: number,
  scratch: Float32Array,
  keptMask?: Uint8Array,
): void {
  const end = start + length;
  if (k <= 0) {
    target.fill(0, start, end);
    return;
  }
  if (k >= length) {
    if (target !== source) target.set(source.subarray(start, end), start);
    if (keptMask) keptMask.fill(1, 0, length);
    return;
  }
  // ReLU outputs are mostly 0: when k values are positive, the k-th largest is among the positives alone
  let positives = 0;
  for (let p = start; p < end; p++) if (source[p] > 0) scratch[positives++] = source[p];
  if (positives < k) scratch.set(source.subarray(start, end));
  const { value: kth, greater } = kthLargest(scratch, positives < k ? length : positives, k);
  let ties = k - greater; // entries equal to the k-th value still to keep, lowest positions first
  for (let p = start; p < end; p++) {
    const value = source[p];
    if (value > kth || (value === kth && ties-- > 0)) {
      target[p] = value;
      if (keptMask) keptMask[p - start] = 1;
    } else target[p] = 0;
  }
}
