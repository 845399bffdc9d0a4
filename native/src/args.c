// Argument readers for the Node-API bindings (see args.h).
#include "args.h"

#include <math.h>
#include <stdio.h>

#define MESSAGE_SIZE 256

static bool throw_type(napi_env env, const char *kernel, const char *name, const char *expected) {
  char message[MESSAGE_SIZE];
  snprintf(message, sizeof message, "%s: %s must be %s", kernel, name, expected);
  napi_throw_type_error(env, "ERR_SAEC_NATIVE_ARGUMENT", message);
  return false;
}

bool throw_range(napi_env env, const char *kernel, const char *detail) {
  char message[MESSAGE_SIZE];
  snprintf(message, sizeof message, "%s: %s", kernel, detail);
  napi_throw_range_error(env, "ERR_SAEC_NATIVE_SHAPE", message);
  return false;
}

bool read_args(napi_env env, napi_callback_info info, const char *kernel, size_t expected, napi_value *argv) {
  size_t count = expected;
  if (napi_get_cb_info(env, info, &count, argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "napi_get_cb_info failed");
    return false;
  }
  if (count != expected) {
    char detail[MESSAGE_SIZE];
    snprintf(detail, sizeof detail, "expected %zu arguments, received %zu", expected, count);
    napi_throw_type_error(env, "ERR_SAEC_NATIVE_ARGUMENT", detail);
    return false;
  }
  return true;
}

bool read_float_array(napi_env env, napi_value value, const char *kernel, const char *name, float_array *out) {
  bool is_typed_array = false;
  if (napi_is_typedarray(env, value, &is_typed_array) != napi_ok || !is_typed_array) {
    return throw_type(env, kernel, name, "a Float32Array");
  }
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_float32_array) {
    return throw_type(env, kernel, name, "a Float32Array");
  }
  out->data = (float *)data;
  out->length = length;
  return true;
}

bool read_number(napi_env env, napi_value value, const char *kernel, const char *name, double *out) {
  if (napi_get_value_double(env, value, out) != napi_ok) return throw_type(env, kernel, name, "a number");
  return true;
}

bool read_size(napi_env env, napi_value value, const char *kernel, const char *name, size_t *out) {
  double number;
  if (!read_number(env, value, kernel, name, &number)) return false;
  // 2^53: past it doubles skip integers, and every real array is far smaller.
  if (!(number >= 0.0) || number > 9007199254740992.0 || floor(number) != number) {
    char detail[MESSAGE_SIZE];
    snprintf(detail, sizeof detail, "%s = %g is not a size", name, number);
    return throw_range(env, kernel, detail);
  }
  *out = (size_t)number;
  return true;
}

bool read_bool(napi_env env, napi_value value, const char *kernel, const char *name, bool *out) {
  if (napi_get_value_bool(env, value, out) != napi_ok) return throw_type(env, kernel, name, "a boolean");
  return true;
}

bool require_length(napi_env env, const char *kernel, const char *name, const float_array *array, size_t need) {
  if (array->length >= need) return true;
  char detail[MESSAGE_SIZE];
  snprintf(detail, sizeof detail, "%s has %zu elements, needs %zu", name, array->length, need);
  return throw_range(env, kernel, detail);
}

bool require_same_length(napi_env env, const char *kernel, const char *const *names, const float_array *arrays,
                         size_t count) {
  for (size_t i = 1; i < count; i++) {
    if (arrays[i].length != arrays[0].length) {
      char detail[MESSAGE_SIZE];
      snprintf(detail, sizeof detail, "%s has %zu elements, %s has %zu", names[i], arrays[i].length, names[0],
               arrays[0].length);
      return throw_range(env, kernel, detail);
    }
  }
  return true;
}
