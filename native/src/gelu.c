// GELU forward and backward (model.md §1): "gelu" erf form, "gelu_new" tanh form. Same formulas as
// compute/reference.ts (including its Numerical Recipes erf), in double, on a vectorisable exp.
#include "kernels.h"
#include "vector-exp.h"

#define SQRT_2_OVER_PI 0.7978845608028654
#define INV_SQRT_2 0.7071067811865476
#define INV_SQRT_2PI 0.3989422804014327
#define GELU_NEW_CUBIC 0.044715

// erf(x) to ~1.2e-7 relative (Numerical Recipes' Chebyshev fit of erfc), as the reference computes it.
static inline double reference_erf(double x) {
  const double z = x < 0.0 ? -x : x;
  const double t = 1.0 / (1.0 + 0.5 * z);
  const double poly =
      -1.26551223 +
      t * (1.00002368 +
           t * (0.37409196 +
                t * (0.09678418 +
                     t * (-0.18628806 +
                          t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const double erfc = t * vector_exp(-z * z + poly);
  return x >= 0.0 ? 1.0 - erfc : erfc - 1.0;
}

// tanh through exp; its absolute error (~1e-16) is what GELU needs, since it only enters as 1 ± tanh.
static inline double vector_tanh(double u) { return 1.0 - 2.0 / (vector_exp(2.0 * u) + 1.0); }

SAEC_CLONES
void saec_gelu_forward(const float *x, float *out, size_t n, int tanh_form) {
  if (tanh_form) {
    for (size_t i = 0; i < n; i++) {
      const double xi = (double)x[i];
      out[i] = (float)(0.5 * xi * (1.0 + vector_tanh(SQRT_2_OVER_PI * (xi + GELU_NEW_CUBIC * xi * xi * xi))));
    }
  } else {
    for (size_t i = 0; i < n; i++) {
      const double xi = (double)x[i];
      out[i] = (float)(0.5 * xi * (1.0 + reference_erf(xi * INV_SQRT_2)));
    }
  }
}

SAEC_CLONES
void saec_gelu_backward(const float *x, const float *grad, float *out, size_t n, int tanh_form) {
  if (tanh_form) {
    for (size_t i = 0; i < n; i++) {
      const double xi = (double)x[i];
      const double th = vector_tanh(SQRT_2_OVER_PI * (xi + GELU_NEW_CUBIC * xi * xi * xi));
      const double derivative =
          0.5 * (1.0 + th) + 0.5 * xi * (1.0 - th * th) * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_NEW_CUBIC * xi * xi);
      out[i] = (float)((double)grad[i] * derivative);
    }
  } else {
    for (size_t i = 0; i < n; i++) {
      const double xi = (double)x[i];
      const double derivative =
          0.5 * (1.0 + reference_erf(xi * INV_SQRT_2)) + xi * INV_SQRT_2PI * vector_exp(-0.5 * xi * xi);
      out[i] = (float)((double)grad[i] * derivative);
    }
  }
}
