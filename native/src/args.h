// Argument readers for the Node-API bindings. Each throws a JS error naming the kernel and the argument and
// returns false; the binding then returns NULL so the pending exception reaches the caller.
#ifndef SAEC_ARGS_H
#define SAEC_ARGS_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
  float *data;
  size_t length;
} float_array;

bool read_args(napi_env env, napi_callback_info info, const char *kernel, size_t expected, napi_value *argv);
bool read_float_array(napi_env env, napi_value value, const char *kernel, const char *name, float_array *out);
bool read_number(napi_env env, napi_value value, const char *kernel, const char *name, double *out);
bool read_size(napi_env env, napi_value value, const char *kernel, const char *name, size_t *out);
bool read_bool(napi_env env, napi_value value, const char *kernel, const char *name, bool *out);
// Throws unless array holds at least need elements (need computed without overflow by the caller).
bool require_length(napi_env env, const char *kernel, const char *name, const float_array *array, size_t need);
// Throws unless every array has the length of the first.
bool require_same_length(napi_env env, const char *kernel, const char *const *names, const float_array *arrays,
                         size_t count);
bool throw_range(napi_env env, const char *kernel, const char *detail);

#endif
