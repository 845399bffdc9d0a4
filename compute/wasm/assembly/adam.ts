// One in-place Adam/AdamW step, float64 arithmetic with float32 stores in the reference's order, two lanes at once.

import { highHalf, lowHalf, narrow } from "./widen";

/** stepSize = lr/(1 − β1^t), sqrtCorrection2 = √(1 − β2^t), decay = 1 − lr·wd are computed by the caller. */
export function adam(
  param: usize,
  grad: usize,
  m: usize,
  v: usize,
  count: i32,
  beta1: f64,
  beta2: f64,
  eps: f64,
  stepSize: f64,
  sqrtCorrection2: f64,
  decay: f64,
): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const at = <usize>(i * 4);
    const g = v128.load(grad + at);
    const gLow = lowHalf(g);
    const gHigh = highHalf(g);
    // m and v are rounded to f32 before the update reads them back, as the reference's stores do.
    const mOld = v128.load(m + at);
    const mNew = narrow(adamMoment(lowHalf(mOld), gLow, beta1), adamMoment(highHalf(mOld), gHigh, beta1));
    const vOld = v128.load(v + at);
    const vNew = narrow(adamSecond(lowHalf(vOld), gLow, beta2), adamSecond(highHalf(vOld), gHigh, beta2));
    v128.store(m + at, mNew);
    v128.store(v + at, vNew);
    const p = v128.load(param + at);
    const low = adamParam(lowHalf(p), lowHalf(mNew), lowHalf(vNew), eps, stepSize, sqrtCorrection2, decay);
    const high = adamParam(highHalf(p), highHalf(mNew), highHalf(vNew), eps, stepSize, sqrtCorrection2, decay);
    v128.store(param + at, narrow(low, high));
  }
  for (; i < count; i++) {
    const at = <usize>(i * 4);
    const g = <f64>load<f32>(grad + at);
    store<f32>(m + at, <f32>(beta1 * <f64>load<f32>(m + at) + (1 - beta1) * g));
    store<f32>(v + at, <f32>(beta2 * <f64>load<f32>(v + at) + (1 - beta2) * g * g));
    const denominator = Math.sqrt(<f64>load<f32>(v + at)) / sqrtCorrection2 + eps;
    store<f32>(param + at, <f32>(<f64>load<f32>(param + at) * decay - (stepSize * <f64>load<f32>(m + at)) / denominator));
  }
}

// @ts-ignore: decorator
@inline
function adamMoment(moment: v128, g: v128, beta1: f64): v128 {
  return f64x2.add(f64x2.mul(f64x2.splat(beta1), moment), f64x2.mul(f64x2.splat(1 - beta1), g));
}

// @ts-ignore: decorator
@inline
function adamSecond(second: v128, g: v128, beta2: f64): v128 {
  return f64x2.add(f64x2.mul(f64x2.splat(beta2), second), f64x2.mul(f64x2.mul(f64x2.splat(1 - beta2), g), g));
}

// @ts-ignore: decorator
@inline
function adamParam(p: v128, m: v128, v: v128, eps: f64, stepSize: f64, sqrtCorrection2: f64, decay: f64): v128 {
  const denominator = f64x2.add(f64x2.div(f64x2.sqrt(v), f64x2.splat(sqrtCorrection2)), f64x2.splat(eps));
  return f64x2.sub(f64x2.mul(p, f64x2.splat(decay)), f64x2.div(f64x2.mul(f64x2.splat(stepSize), m), denominator));
}
