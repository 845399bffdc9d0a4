// Node-API entry points, one per kernel in compute/kernels.ts plus thread and BLAS info helpers.
#ifndef SAEC_BINDINGS_H
#define SAEC_BINDINGS_H

#include <node_api.h>

napi_value bind_sgemm(napi_env env, napi_callback_info info);
napi_value bind_bias_add(napi_env env, napi_callback_info info);
napi_value bind_relu_backward(napi_env env, napi_callback_info info);
napi_value bind_scaled_difference(napi_env env, napi_callback_info info);
napi_value bind_column_sums(napi_env env, napi_callback_info info);
napi_value bind_sum_squares(napi_env env, napi_callback_info info);
napi_value bind_axpy(napi_env env, napi_callback_info info);
napi_value bind_project_out_parallel(napi_env env, napi_callback_info info);
napi_value bind_normalize_rows(napi_env env, napi_callback_info info);
napi_value bind_adam(napi_env env, napi_callback_info info);
napi_value bind_gelu(napi_env env, napi_callback_info info);
napi_value bind_gelu_backward(napi_env env, napi_callback_info info);
napi_value bind_set_threads(napi_env env, napi_callback_info info);
napi_value bind_get_threads(napi_env env, napi_callback_info info);
napi_value bind_blas_info(napi_env env, napi_callback_info info);

#endif
