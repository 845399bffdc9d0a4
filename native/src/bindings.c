// Node-API bindings of the elementwise, reduction, row and optimiser kernels. Each reads and checks its
// arguments (the TS provider has checked shapes already; these checks keep a bad call from touching bad memory),
// then runs the plain C kernel.
#include "bindings.h"

#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "kernels.h"

// Rows of a row-major [rows, cols] array, throwing unless cols > 0 divides its length.
static bool rows_of(napi_env env, const char *kernel, const char *name, const float_array *x, size_t cols,
                    size_t *rows) {
  if (cols == 0 || x->length % cols != 0) {
    char detail[160];
    snprintf(detail, sizeof detail, "%s has %zu elements, not a multiple of %zu columns", name, x->length, cols);
    return throw_range(env, kernel, detail);
  }
  *rows = x->length / cols;
  return true;
}

static napi_value number_value(napi_env env, double value) {
  napi_value result;
  napi_create_double(env, value, &result);
  return result;
}

napi_value bind_bias_add(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  float_array x, bias, out;
  bool relu;
  size_t rows = 0;
  if (!read_args(env, info, "biasAdd", 4, argv) || !read_float_array(env, argv[0], "biasAdd", "x", &x) ||
      !read_float_array(env, argv[1], "biasAdd", "bias", &bias) ||
      !read_float_array(env, argv[2], "biasAdd", "out", &out) || !read_bool(env, argv[3], "biasAdd", "relu", &relu) ||
      !rows_of(env, "biasAdd", "x", &x, bias.length, &rows) || !require_length(env, "biasAdd", "out", &out, x.length)) {
    return NULL;
  }
  saec_bias_add(x.data, bias.data, out.data, rows, bias.length, relu);
  return NULL;
}

napi_value bind_relu_backward(napi_env env, napi_callback_info info) {
  static const char *const names[] = {"grad", "pre", "out"};
  napi_value argv[4];
  float_array arrays[3];
  double l1;
  if (!read_args(env, info, "reluBackward", 4, argv) ||
      !read_float_array(env, argv[0], "reluBackward", "grad", &arrays[0]) ||
      !read_float_array(env, argv[1], "reluBackward", "pre", &arrays[1]) ||
      !read_number(env, argv[2], "reluBackward", "l1", &l1) ||
      !read_float_array(env, argv[3], "reluBackward", "out", &arrays[2]) ||
      !require_same_length(env, "reluBackward", names, arrays, 3)) {
    return NULL;
  }
  saec_relu_backward(arrays[0].data, arrays[1].data, l1, arrays[2].data, arrays[0].length);
  return NULL;
}

napi_value bind_scaled_difference(napi_env env, napi_callback_info info) {
  static const char *const names[] = {"a", "b", "out"};
  napi_value argv[4];
  float_array arrays[3];
  double scale;
  if (!read_args(env, info, "scaledDifference", 4, argv) ||
      !read_float_array(env, argv[0], "scaledDifference", "a", &arrays[0]) ||
      !read_float_array(env, argv[1], "scaledDifference", "b", &arrays[1]) ||
      !read_number(env, argv[2], "scaledDifference", "scale", &scale) ||
      !read_float_array(env, argv[3], "scaledDifference", "out", &arrays[2]) ||
      !require_same_length(env, "scaledDifference", names, arrays, 3)) {
    return NULL;
  }
  const double sum = saec_scaled_difference(arrays[0].data, arrays[1].data, scale, arrays[2].data, arrays[0].length);
  return number_value(env, sum);
}

napi_value bind_column_sums(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  float_array x, out;
  size_t rows = 0;
  if (!read_args(env, info, "columnSums", 2, argv) || !read_float_array(env, argv[0], "columnSums", "x", &x) ||
      !read_float_array(env, argv[1], "columnSums", "out", &out) ||
      !rows_of(env, "columnSums", "x", &x, out.length, &rows)) {
    return NULL;
  }
  double *sums = malloc(out.length * sizeof *sums);
  if (sums == NULL) {
    napi_throw_error(env, NULL, "columnSums: out of memory for the float64 accumulators");
    return NULL;
  }
  saec_column_sums(x.data, rows, out.length, sums, out.data);
  free(sums);
  return NULL;
}

napi_value bind_sum_squares(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  float_array x;
  if (!read_args(env, info, "sumSquares", 1, argv) || !read_float_array(env, argv[0], "sumSquares", "x", &x)) {
    return NULL;
  }
  return number_value(env, saec_sum_squares(x.data, x.length));
}

napi_value bind_axpy(napi_env env, napi_callback_info info) {
  static const char *const names[] = {"x", "y"};
  napi_value argv[3];
  float_array arrays[2];
  double alpha;
  if (!read_args(env, info, "axpy", 3, argv) || !read_number(env, argv[0], "axpy", "alpha", &alpha) ||
      !read_float_array(env, argv[1], "axpy", "x", &arrays[0]) ||
      !read_float_array(env, argv[2], "axpy", "y", &arrays[1]) ||
      !require_same_length(env, "axpy", names, arrays, 2)) {
    return NULL;
  }
  saec_axpy(alpha, arrays[0].data, arrays[1].data, arrays[0].length);
  return NULL;
}

napi_value bind_project_out_parallel(napi_env env, napi_callback_info info) {
  static const char *const names[] = {"grad", "w"};
  napi_value argv[4];
  float_array arrays[2];
  size_t cols = 0, rows = 0;
  double eps;
  if (!read_args(env, info, "projectOutParallel", 4, argv) ||
      !read_float_array(env, argv[0], "projectOutParallel", "grad", &arrays[0]) ||
      !read_float_array(env, argv[1], "projectOutParallel", "w", &arrays[1]) ||
      !read_size(env, argv[2], "projectOutParallel", "cols", &cols) ||
      !read_number(env, argv[3], "projectOutParallel", "eps", &eps) ||
      !require_same_length(env, "projectOutParallel", names, arrays, 2) ||
      !rows_of(env, "projectOutParallel", "w", &arrays[1], cols, &rows)) {
    return NULL;
  }
  saec_project_out_parallel(arrays[0].data, arrays[1].data, rows, cols, eps);
  return NULL;
}

napi_value bind_normalize_rows(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  float_array w;
  size_t cols = 0, rows = 0;
  double eps;
  if (!read_args(env, info, "normalizeRows", 3, argv) || !read_float_array(env, argv[0], "normalizeRows", "w", &w) ||
      !read_size(env, argv[1], "normalizeRows", "cols", &cols) ||
      !read_number(env, argv[2], "normalizeRows", "eps", &eps) ||
      !rows_of(env, "normalizeRows", "w", &w, cols, &rows)) {
    return NULL;
  }
  saec_normalize_rows(w.data, rows, cols, eps);
  return NULL;
}

napi_value bind_adam(napi_env env, napi_callback_info info) {
  static const char *const names[] = {"param", "grad", "m", "v"};
  napi_value argv[10];
  float_array arrays[4];
  adam_options options;
  if (!read_args(env, info, "adam", 10, argv) || !read_float_array(env, argv[0], "adam", "param", &arrays[0]) ||
      !read_float_array(env, argv[1], "adam", "grad", &arrays[1]) ||
      !read_float_array(env, argv[2], "adam", "m", &arrays[2]) ||
      !read_float_array(env, argv[3], "adam", "v", &arrays[3]) ||
      !read_number(env, argv[4], "adam", "lr", &options.lr) ||
      !read_number(env, argv[5], "adam", "beta1", &options.beta1) ||
      !read_number(env, argv[6], "adam", "beta2", &options.beta2) ||
      !read_number(env, argv[7], "adam", "eps", &options.eps) ||
      !read_number(env, argv[8], "adam", "step", &options.step) ||
      !read_number(env, argv[9], "adam", "weightDecay", &options.weight_decay) ||
      !require_same_length(env, "adam", names, arrays, 4)) {
    return NULL;
  }
  if (!(options.step >= 1.0)) {
    throw_range(env, "adam", "step must be >= 1");
    return NULL;
  }
  saec_adam_step(arrays[0].data, arrays[1].data, arrays[2].data, arrays[3].data, arrays[0].length, &options);
  return NULL;
}

napi_value bind_gelu(napi_env env, napi_callback_info info) {
  static const char *const names[] = {"x", "out"};
  napi_value argv[3];
  float_array arrays[2];
  bool tanh_form;
  if (!read_args(env, info, "gelu", 3, argv) || !read_float_array(env, argv[0], "gelu", "x", &arrays[0]) ||
      !read_float_array(env, argv[1], "gelu", "out", &arrays[1]) ||
      !read_bool(env, argv[2], "gelu", "tanhForm", &tanh_form) ||
      !require_same_length(env, "gelu", names, arrays, 2)) {
    return NULL;
  }
  saec_gelu_forward(arrays[0].data, arrays[1].data, arrays[0].length, tanh_form);
  return NULL;
}

napi_value bind_gelu_backward(napi_env env, napi_callback_info info) {
  static const char *const names[] = {"x", "grad", "out"};
  napi_value argv[4];
  float_array arrays[3];
  bool tanh_form;
  if (!read_args(env, info, "geluBackward", 4, argv) ||
      !read_float_array(env, argv[0], "geluBackward", "x", &arrays[0]) ||
      !read_float_array(env, argv[1], "geluBackward", "grad", &arrays[1]) ||
      !read_float_array(env, argv[2], "geluBackward", "out", &arrays[2]) ||
      !read_bool(env, argv[3], "geluBackward", "tanhForm", &tanh_form) ||
      !require_same_length(env, "geluBackward", names, arrays, 3)) {
    return NULL;
  }
  saec_gelu_backward(arrays[0].data, arrays[1].data, arrays[2].data, arrays[0].length, tanh_form);
  return NULL;
}
