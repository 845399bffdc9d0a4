// GELU and its derivative, a line-by-line port of compute/reference.ts (same erf fit, float64 throughout).

const SQRT_2_OVER_PI: f64 = Math.sqrt(2 / Math.PI);
const INV_SQRT_2: f64 = 1 / Math.SQRT2;
const INV_SQRT_2PI: f64 = 1 / Math.sqrt(2 * Math.PI);

/** erf(x) to ~1.2e-7 relative (Numerical Recipes' Chebyshev fit of erfc), as in reference.ts. */
function erf(x: f64): f64 {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const erfc =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - erfc : erfc - 1;
}

// exact: the erf form ("gelu"); otherwise the tanh approximation ("gelu_new").
function geluScalar(x: f64, exact: bool): f64 {
  if (exact) return 0.5 * x * (1 + erf(x * INV_SQRT_2));
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

function geluDerivative(x: f64, exact: bool): f64 {
  if (exact) return 0.5 * (1 + erf(x * INV_SQRT_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
  const inner = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
  const th = Math.tanh(inner);
  return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
}

export function gelu(x: usize, out: usize, count: i32, exact: bool): void {
  for (let i = 0; i < count; i++) {
    const at = <usize>(i * 4);
    store<f32>(out + at, <f32>geluScalar(<f64>load<f32>(x + at), exact));
  }
}

export function geluBackward(x: usize, grad: usize, out: usize, count: i32, exact: bool): void {
  for (let i = 0; i < count; i++) {
    const at = <usize>(i * 4);
    store<f32>(out + at, <f32>(<f64>load<f32>(grad + at) * geluDerivative(<f64>load<f32>(x + at), exact)));
  }
}
