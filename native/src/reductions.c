// Sums accumulated in float64, as the reference does.
#include "kernels.h"

SAEC_CLONES
void saec_column_sums(const float *x, size_t rows, size_t cols, double *sums, float *out) {
  for (size_t j = 0; j < cols; j++) sums[j] = 0.0;
  // Row by row, so the order of additions per column is the reference's (bit-identical sums).
  for (size_t r = 0; r < rows; r++) {
    const float *row = x + r * cols;
    for (size_t j = 0; j < cols; j++) sums[j] += (double)row[j];
  }
  for (size_t j = 0; j < cols; j++) out[j] = (float)sums[j];
}

SAEC_CLONES
double saec_sum_squares(const float *x, size_t n) {
  double sum = 0.0;
#pragma omp simd reduction(+ : sum)
  for (size_t i = 0; i < n; i++) sum += (double)x[i] * (double)x[i];
  return sum;
}
