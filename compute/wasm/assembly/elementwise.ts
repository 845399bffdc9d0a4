// Elementwise kernels (compute/reference.ts semantics). Sums of two f32 values round exactly as the
// reference's float64-then-store does, so those stay in f32x4; anything with an f64 scalar goes through f64x2.

import { highHalf, laneSum, lowHalf, narrow } from "./widen";

/** out[r, j] = x[r, j] + bias[j], with relu: NaN and ≤ 0 become +0 (the reference's !(value > 0)). */
export function biasAdd(x: usize, bias: usize, out: usize, rows: i32, cols: i32, relu: bool): void {
  const zero = f32x4.splat(0);
  for (let r = 0; r < rows; r++) {
    const offset = <usize>(r * cols * 4);
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const at = <usize>(j * 4);
      const value = f32x4.add(v128.load(x + offset + at), v128.load(bias + at));
      v128.store(out + offset + at, relu ? f32x4.pmax(zero, value) : value);
    }
    for (; j < cols; j++) {
      const at = <usize>(j * 4);
      const value = load<f32>(x + offset + at) + load<f32>(bias + at);
      store<f32>(out + offset + at, relu && !(value > 0) ? 0 : value);
    }
  }
}

/** out[i] = pre[i] > 0 ? grad[i] + l1 : 0. */
export function reluBackward(grad: usize, pre: usize, l1: f64, out: usize, count: i32): void {
  const zero = f32x4.splat(0);
  const shift = f64x2.splat(l1);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const at = <usize>(i * 4);
    const g = v128.load(grad + at);
    const active = f32x4.gt(v128.load(pre + at), zero);
    const value = narrow(f64x2.add(lowHalf(g), shift), f64x2.add(highHalf(g), shift));
    v128.store(out + at, v128.and(value, active));
  }
  for (; i < count; i++) {
    const at = <usize>(i * 4);
    store<f32>(out + at, load<f32>(pre + at) > 0 ? <f32>(<f64>load<f32>(grad + at) + l1) : 0);
  }
}

/** out[i] = scale·(a[i] − b[i]); returns Σ (a[i] − b[i])² in float64. */
export function scaledDifference(a: usize, b: usize, scale: f64, out: usize, count: i32): f64 {
  const factor = f64x2.splat(scale);
  let sumLow = f64x2.splat(0);
  let sumHigh = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const at = <usize>(i * 4);
    const va = v128.load(a + at);
    const vb = v128.load(b + at);
    const low = f64x2.sub(lowHalf(va), lowHalf(vb));
    const high = f64x2.sub(highHalf(va), highHalf(vb));
    sumLow = f64x2.add(sumLow, f64x2.mul(low, low));
    sumHigh = f64x2.add(sumHigh, f64x2.mul(high, high));
    v128.store(out + at, narrow(f64x2.mul(factor, low), f64x2.mul(factor, high)));
  }
  let sum = laneSum(sumLow) + laneSum(sumHigh);
  for (; i < count; i++) {
    const at = <usize>(i * 4);
    const diff = <f64>load<f32>(a + at) - <f64>load<f32>(b + at);
    sum += diff * diff;
    store<f32>(out + at, <f32>(scale * diff));
  }
  return sum;
}

/** y[i] ← alpha·x[i] + y[i]. */
export function axpy(alpha: f64, x: usize, y: usize, count: i32): void {
  const factor = f64x2.splat(alpha);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const at = <usize>(i * 4);
    const vx = v128.load(x + at);
    const vy = v128.load(y + at);
    const low = f64x2.add(f64x2.mul(factor, lowHalf(vx)), lowHalf(vy));
    const high = f64x2.add(f64x2.mul(factor, highHalf(vx)), highHalf(vy));
    v128.store(y + at, narrow(low, high));
  }
  for (; i < count; i++) {
    const at = <usize>(i * 4);
    store<f32>(y + at, <f32>(alpha * <f64>load<f32>(x + at) + <f64>load<f32>(y + at)));
  }
}
