// Float64-accumulated reductions and the row-wise kernels built on them (compute/reference.ts semantics).

import { highHalf, laneSum, lowHalf, narrow } from "./widen";

/** out[j] = Σ_r x[r, j]; sums holds cols float64 scratch so each column adds in the reference's order. */
export function columnSums(x: usize, rows: i32, cols: i32, out: usize, sums: usize): void {
  memory.fill(sums, 0, <usize>(cols * 8));
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>(r * cols * 4);
    let j = 0;
    for (; j + 2 <= cols; j += 2) {
      const at = sums + <usize>(j * 8);
      v128.store(at, f64x2.add(v128.load(at), f64x2.promote_low_f32x4(v128.load64_zero(row + <usize>(j * 4)))));
    }
    for (; j < cols; j++) {
      const at = sums + <usize>(j * 8);
      store<f64>(at, load<f64>(at) + <f64>load<f32>(row + <usize>(j * 4)));
    }
  }
  for (let j = 0; j < cols; j++) store<f32>(out + <usize>(j * 4), <f32>load<f64>(sums + <usize>(j * 8)));
}

/** Σ x[i]² in float64. */
export function sumSquares(x: usize, count: i32): f64 {
  let sumLow = f64x2.splat(0);
  let sumHigh = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const v = v128.load(x + <usize>(i * 4));
    const low = lowHalf(v);
    const high = highHalf(v);
    sumLow = f64x2.add(sumLow, f64x2.mul(low, low));
    sumHigh = f64x2.add(sumHigh, f64x2.mul(high, high));
  }
  let sum = laneSum(sumLow) + laneSum(sumHigh);
  for (; i < count; i++) {
    const value = <f64>load<f32>(x + <usize>(i * 4));
    sum += value * value;
  }
  return sum;
}

/** Σ a[j]·b[j] over one row, in float64. */
function dot(a: usize, b: usize, cols: i32): f64 {
  let sumLow = f64x2.splat(0);
  let sumHigh = f64x2.splat(0);
  let j = 0;
  for (; j + 4 <= cols; j += 4) {
    const va = v128.load(a + <usize>(j * 4));
    const vb = v128.load(b + <usize>(j * 4));
    sumLow = f64x2.add(sumLow, f64x2.mul(lowHalf(va), lowHalf(vb)));
    sumHigh = f64x2.add(sumHigh, f64x2.mul(highHalf(va), highHalf(vb)));
  }
  let sum = laneSum(sumLow) + laneSum(sumHigh);
  for (; j < cols; j++) sum += <f64>load<f32>(a + <usize>(j * 4)) * <f64>load<f32>(b + <usize>(j * 4));
  return sum;
}

/** target[j] ← target[j] + factor·source[j] over one row, in float64. */
function addScaledRow(target: usize, source: usize, factor: f64, cols: i32): void {
  const vfactor = f64x2.splat(factor);
  let j = 0;
  for (; j + 4 <= cols; j += 4) {
    const at = <usize>(j * 4);
    const vt = v128.load(target + at);
    const vs = v128.load(source + at);
    const low = f64x2.add(lowHalf(vt), f64x2.mul(vfactor, lowHalf(vs)));
    const high = f64x2.add(highHalf(vt), f64x2.mul(vfactor, highHalf(vs)));
    v128.store(target + at, narrow(low, high));
  }
  for (; j < cols; j++) {
    const at = <usize>(j * 4);
    store<f32>(target + at, <f32>(<f64>load<f32>(target + at) + factor * <f64>load<f32>(source + at)));
  }
}

/** For each row: g ← g − (g·w) w / (‖w‖ + eps)² (sae.md §1.2). */
export function projectOutParallel(grad: usize, w: usize, rows: i32, cols: i32, eps: f64): void {
  for (let r = 0; r < rows; r++) {
    const offset = <usize>(r * cols * 4);
    const norm = Math.sqrt(dot(w + offset, w + offset, cols)) + eps;
    if (norm == 0) continue;
    const coefficient = dot(grad + offset, w + offset, cols) / (norm * norm);
    addScaledRow(grad + offset, w + offset, -coefficient, cols);
  }
}

/** For each row: w ← w / (‖w‖ + eps). */
export function normalizeRows(w: usize, rows: i32, cols: i32, eps: f64): void {
  for (let r = 0; r < rows; r++) {
    const row = w + <usize>(r * cols * 4);
    const norm = Math.sqrt(dot(row, row, cols)) + eps;
    if (norm == 0) continue;
    const vnorm = f64x2.splat(norm);
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const at = row + <usize>(j * 4);
      const v = v128.load(at);
      v128.store(at, narrow(f64x2.div(lowHalf(v), vnorm), f64x2.div(highHalf(v), vnorm)));
    }
    for (; j < cols; j++) {
      const at = row + <usize>(j * 4);
      store<f32>(at, <f32>(<f64>load<f32>(at) / norm));
    }
  }
}
