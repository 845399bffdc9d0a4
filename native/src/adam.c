// One Adam/AdamW step, PyTorch semantics (spec sae.md §1.2, model.md §4), mirroring compute/reference.ts:
// the moments are stored as float and read back rounded before the parameter update.
#include <math.h>

#include "kernels.h"

SAEC_CLONES
void saec_adam_step(float *param, const float *grad, float *m, float *v, size_t n, const adam_options *options) {
  const double beta1 = options->beta1, beta2 = options->beta2, eps = options->eps;
  const double step_size = options->lr / (1.0 - pow(beta1, options->step));
  const double sqrt_correction2 = sqrt(1.0 - pow(beta2, options->step));
  const double decay = 1.0 - options->lr * options->weight_decay;
  for (size_t i = 0; i < n; i++) {
    const double g = (double)grad[i];
    const float mi = (float)(beta1 * (double)m[i] + (1.0 - beta1) * g);
    const float vi = (float)(beta2 * (double)v[i] + (1.0 - beta2) * g * g);
    m[i] = mi;
    v[i] = vi;
    const double denominator = sqrt((double)vi) / sqrt_correction2 + eps;
    param[i] = (float)((double)param[i] * decay - (step_size * (double)mi) / denominator);
  }
}
