// The saec_native addon: registers the kernel bindings, plus OpenBLAS thread control and build info.
#include <cblas.h>

#include "args.h"
#include "bindings.h"

napi_value bind_set_threads(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t threads;
  if (!read_args(env, info, "setThreads", 1, argv) || !read_size(env, argv[0], "setThreads", "threads", &threads)) {
    return NULL;
  }
  if (threads < 1 || threads > 1024) {
    throw_range(env, "setThreads", "threads must be between 1 and 1024");
    return NULL;
  }
  openblas_set_num_threads((int)threads);
  return NULL;
}

napi_value bind_get_threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_create_int32(env, openblas_get_num_threads(), &result);
  return result;
}

static napi_value string_value(napi_env env, const char *text) {
  napi_value result;
  napi_create_string_utf8(env, text != NULL ? text : "", NAPI_AUTO_LENGTH, &result);
  return result;
}

// { config, core, parallel, processors } from OpenBLAS, for logs and bench reports.
napi_value bind_blas_info(napi_env env, napi_callback_info info) {
  (void)info;
  static const char *const parallel_names[] = {"sequential", "pthreads", "openmp"};
  const int parallel = openblas_get_parallel();
  napi_value result, processors;
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "config", string_value(env, openblas_get_config()));
  napi_set_named_property(env, result, "core", string_value(env, openblas_get_corename()));
  napi_set_named_property(env, result, "parallel",
                          string_value(env, parallel >= 0 && parallel <= 2 ? parallel_names[parallel] : "unknown"));
  napi_create_int32(env, openblas_get_num_procs(), &processors);
  napi_set_named_property(env, result, "processors", processors);
  return result;
}

NAPI_MODULE_INIT() {
  const napi_property_descriptor functions[] = {
      {"sgemm", NULL, bind_sgemm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"biasAdd", NULL, bind_bias_add, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reluBackward", NULL, bind_relu_backward, NULL, NULL, NULL, napi_enumerable, NULL},
      {"scaledDifference", NULL, bind_scaled_difference, NULL, NULL, NULL, napi_enumerable, NULL},
      {"columnSums", NULL, bind_column_sums, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sumSquares", NULL, bind_sum_squares, NULL, NULL, NULL, napi_enumerable, NULL},
      {"axpy", NULL, bind_axpy, NULL, NULL, NULL, napi_enumerable, NULL},
      {"projectOutParallel", NULL, bind_project_out_parallel, NULL, NULL, NULL, napi_enumerable, NULL},
      {"normalizeRows", NULL, bind_normalize_rows, NULL, NULL, NULL, napi_enumerable, NULL},
      {"adam", NULL, bind_adam, NULL, NULL, NULL, napi_enumerable, NULL},
      {"gelu", NULL, bind_gelu, NULL, NULL, NULL, napi_enumerable, NULL},
      {"geluBackward", NULL, bind_gelu_backward, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setThreads", NULL, bind_set_threads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getThreads", NULL, bind_get_threads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"blasInfo", NULL, bind_blas_info, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions) != napi_ok) return NULL;
  return exports;
}
