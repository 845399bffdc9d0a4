// sgemm binding: C ← alpha·op(A)·op(B) + beta·C, row-major, through OpenBLAS's cblas_sgemm.
#include <cblas.h>
#include <limits.h>

#include "args.h"
#include "bindings.h"

static size_t at_least_one(size_t value) { return value > 0 ? value : 1; }

// Checks a·b elements fit size_t and that the array holds them.
static bool require_product(napi_env env, const char *name, const float_array *array, size_t a, size_t b) {
  size_t need;
  if (__builtin_mul_overflow(a, b, &need)) return throw_range(env, "sgemm", "matrix size overflows");
  return require_length(env, "sgemm", name, array, need);
}

napi_value bind_sgemm(napi_env env, napi_callback_info info) {
  napi_value argv[10];
  bool trans_a, trans_b;
  size_t m, n, k;
  double alpha, beta;
  float_array a, b, c;
  if (!read_args(env, info, "sgemm", 10, argv) || !read_bool(env, argv[0], "sgemm", "transA", &trans_a) ||
      !read_bool(env, argv[1], "sgemm", "transB", &trans_b) || !read_size(env, argv[2], "sgemm", "m", &m) ||
      !read_size(env, argv[3], "sgemm", "n", &n) || !read_size(env, argv[4], "sgemm", "k", &k) ||
      !read_number(env, argv[5], "sgemm", "alpha", &alpha) || !read_float_array(env, argv[6], "sgemm", "a", &a) ||
      !read_float_array(env, argv[7], "sgemm", "b", &b) || !read_number(env, argv[8], "sgemm", "beta", &beta) ||
      !read_float_array(env, argv[9], "sgemm", "c", &c)) {
    return NULL;
  }
  if (m > INT_MAX || n > INT_MAX || k > INT_MAX) {
    throw_range(env, "sgemm", "m, n and k must fit a 32-bit int");
    return NULL;
  }
  if (!require_product(env, trans_a ? "A [k, m]" : "A [m, k]", &a, m, k) ||
      !require_product(env, trans_b ? "B [n, k]" : "B [k, n]", &b, k, n) ||
      !require_product(env, "C [m, n]", &c, m, n)) {
    return NULL;
  }
  if (m == 0 || n == 0) return NULL;
  if (k == 0) {  // op(A)·op(B) is all zeros; BLAS would reject the zero leading dimension
    for (size_t i = 0; i < m * n; i++) c.data[i] = beta == 0.0 ? 0.0f : (float)(beta * (double)c.data[i]);
    return NULL;
  }
  // Row-major leading dimensions are the stored row lengths.
  const int lda = (int)at_least_one(trans_a ? m : k);
  const int ldb = (int)at_least_one(trans_b ? k : n);
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n,
              (int)k, (float)alpha, a.data, lda, b.data, ldb, (float)beta, c.data, (int)n);
  return NULL;
}
