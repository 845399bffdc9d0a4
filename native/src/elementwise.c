// Elementwise kernels. Arithmetic is done in double and rounded once to float, as the JS reference does.
// Outputs may alias inputs element for element, so no restrict qualifiers here.
#include "kernels.h"

SAEC_CLONES
void saec_bias_add(const float *x, const float *bias, float *out, size_t rows, size_t cols, int relu) {
  for (size_t r = 0; r < rows; r++) {
    const float *row = x + r * cols;
    float *target = out + r * cols;
    if (relu) {
      for (size_t j = 0; j < cols; j++) {
        float value = row[j] + bias[j];
        target[j] = value > 0.0f ? value : 0.0f;  // NaN → 0, like the reference's !(value > 0)
      }
    } else {
      for (size_t j = 0; j < cols; j++) target[j] = row[j] + bias[j];
    }
  }
}

SAEC_CLONES
void saec_relu_backward(const float *grad, const float *pre, double l1, float *out, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = pre[i] > 0.0f ? (float)((double)grad[i] + l1) : 0.0f;
}

SAEC_CLONES
double saec_scaled_difference(const float *a, const float *b, double scale, float *out, size_t n) {
  double sum = 0.0;
#pragma omp simd reduction(+ : sum)
  for (size_t i = 0; i < n; i++) {
    double diff = (double)a[i] - (double)b[i];
    sum += diff * diff;
    out[i] = (float)(scale * diff);
  }
  return sum;
}

SAEC_CLONES
void saec_axpy(double alpha, const float *x, float *y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = (float)(alpha * (double)x[i] + (double)y[i]);
}
