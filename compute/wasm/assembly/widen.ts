// f32x4 ↔ two f64x2 halves: kernels whose reference computes in float64 do the same, lane by lane.

// @ts-ignore: decorator
@inline
export function lowHalf(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}

// @ts-ignore: decorator
@inline
export function highHalf(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
}

/** Rounds two f64x2 halves back into one f32x4. */
// @ts-ignore: decorator
@inline
export function narrow(low: v128, high: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(low), f32x4.demote_f64x2_zero(high), 0, 1, 4, 5);
}

/** Adds the two lanes of an f64x2. */
// @ts-ignore: decorator
@inline
export function laneSum(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}
