// Plain C kernels behind the Node-API bindings: same semantics as compute/reference.ts, no Node types here.
// Names carry a saec_ prefix because GCC exports target_clones functions despite -fvisibility=hidden.
#ifndef SAEC_KERNELS_H
#define SAEC_KERNELS_H

#include <stddef.h>

// x86-64 builds get an AVX2+FMA clone picked at load time by the CPU (ifunc); the default clone is baseline SSE2,
// so one binary runs on any x86-64 machine.
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#define SAEC_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#elif defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#define SAEC_CLONES __attribute__((target_clones("avx2", "default")))  // older compilers: no arch=x86-64-v3
#else
#define SAEC_CLONES
#endif

typedef struct {
  double lr, beta1, beta2, eps, step, weight_decay;
} adam_options;

void saec_bias_add(const float *x, const float *bias, float *out, size_t rows, size_t cols, int relu);
void saec_relu_backward(const float *grad, const float *pre, double l1, float *out, size_t n);
double saec_scaled_difference(const float *a, const float *b, double scale, float *out, size_t n);
void saec_column_sums(const float *x, size_t rows, size_t cols, double *sums, float *out);
double saec_sum_squares(const float *x, size_t n);
void saec_axpy(double alpha, const float *x, float *y, size_t n);
void saec_project_out_parallel(float *grad, const float *w, size_t rows, size_t cols, double eps);
void saec_normalize_rows(float *w, size_t rows, size_t cols, double eps);
void saec_adam_step(float *param, const float *grad, float *m, float *v, size_t n, const adam_options *options);
void saec_gelu_forward(const float *x, float *out, size_t n, int tanh_form);
void saec_gelu_backward(const float *x, const float *grad, float *out, size_t n, int tanh_form);

#endif
