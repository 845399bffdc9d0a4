// Per-row kernels on a row-major [rows, cols] weight matrix (decoder columns, sae.md §1.2).
#include <math.h>

#include "kernels.h"

SAEC_CLONES
void saec_project_out_parallel(float *grad, const float *w, size_t rows, size_t cols, double eps) {
  for (size_t r = 0; r < rows; r++) {
    float *g = grad + r * cols;
    const float *wr = w + r * cols;
    double norm_sq = 0.0, dot = 0.0;
#pragma omp simd reduction(+ : norm_sq, dot)
    for (size_t j = 0; j < cols; j++) {
      norm_sq += (double)wr[j] * (double)wr[j];
      dot += (double)g[j] * (double)wr[j];
    }
    double norm = sqrt(norm_sq) + eps;
    if (norm == 0.0) continue;
    double coefficient = dot / (norm * norm);  // (g·ŵ) ŵ = (g·w) w / norm²
    for (size_t j = 0; j < cols; j++) g[j] = (float)((double)g[j] - coefficient * (double)wr[j]);
  }
}

SAEC_CLONES
void saec_normalize_rows(float *w, size_t rows, size_t cols, double eps) {
  for (size_t r = 0; r < rows; r++) {
    float *wr = w + r * cols;
    double norm_sq = 0.0;
#pragma omp simd reduction(+ : norm_sq)
    for (size_t j = 0; j < cols; j++) norm_sq += (double)wr[j] * (double)wr[j];
    double norm = sqrt(norm_sq) + eps;
    if (norm == 0.0) continue;
    for (size_t j = 0; j < cols; j++) wr[j] = (float)((double)wr[j] / norm);
  }
}
