// exp(x) in double to ~1e-16 relative, written without libm calls so the compiler can vectorise loops using it
// (glibc's exp only vectorises under -ffast-math). Inputs are clamped to [-708, 709]: 2^k stays a normal double.
#ifndef SAEC_VECTOR_EXP_H
#define SAEC_VECTOR_EXP_H

#include <stdint.h>
#include <string.h>

static inline double vector_exp(double x) {
  x = x < -708.0 ? -708.0 : x;
  x = x > 709.0 ? 709.0 : x;
  // k = round(x / ln 2) lands in the low mantissa bits of shifted (the 1.5·2^52 trick).
  const double round_shift = 0x1.8p52;
  const double shifted = x * 1.4426950408889634 + round_shift;
  uint64_t k_bits;
  memcpy(&k_bits, &shifted, sizeof k_bits);
  const double k = shifted - round_shift;
  // fdlibm's split ln 2: k·ln2_hi is exact, so r = x − k·ln 2 keeps full precision; |r| ≤ 0.35.
  const double r = (x - k * 6.93147180369123816490e-01) - k * 1.90821492927058770002e-10;
  // Taylor series to degree 12: truncation error < 2e-16 on |r| ≤ 0.35.
  double p = 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  const uint64_t scale_bits = (k_bits + 1023) << 52;  // low 12 bits of k + bias → exponent field of 2^k
  double scale;
  memcpy(&scale, &scale_bits, sizeof scale);
  return p * scale;
}

#endif
