// Plain, obviously-correct implementations of every kernel. They define the semantics the fast providers are
// tested against, and they are the last fallback when no faster provider loads.

import {
  checkSgemm,
  KernelShapeError,
  requireLength,
  rowsOf,
  sameLength,
  type AdamStep,
  type GeluKind,
  type Kernels,
} from "./kernels.js";

/** erf(x) to ~1.2e-7 relative (Numerical Recipes' Chebyshev fit of erfc). */
export function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const erfc =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - erfc : erfc - 1;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2 = 1 / Math.SQRT2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export function geluScalar(x: number, kind: GeluKind): number {
  if (kind === "gelu") return 0.5 * x * (1 + erf(x * INV_SQRT_2));
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

export function geluDerivative(x: number, kind: GeluKind): number {
  if (kind === "gelu") return 0.5 * (1 + erf(x * INV_SQRT_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
  const inner = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
  const th = Math.tanh(inner);
  return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
}


export const referenceKernels: Kernels = {
  name: "reference",
  threads: 1,

  sgemm(transA, transB, m, n, k, alpha, a, b, beta, c) {
    checkSgemm(transA, transB, m, n, k, a, b, c);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          const av = transA ? a[p * m + i] : a[i * k + p];
          const bv = transB ? b[j * k + p] : b[p * n + j];
          sum += av * bv;
        }
        c[i * n + j] = beta === 0 ? alpha * sum : alpha * sum + beta * c[i * n + j];
      }
    }
  },

  biasAdd(x, bias, out, relu) {
    const cols = bias.length;
    const rows = rowsOf("biasAdd", "x", x, cols);
    requireLength("biasAdd", "out", out, rows * cols);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < cols; j++) {
        const value = x[r * cols + j] + bias[j];
        out[r * cols + j] = relu && !(value > 0) ? 0 : value;
      }
    }
  },

  reluBackward(grad, pre, l1, out) {
    sameLength("reluBackward", ["grad", "pre", "out"], [grad, pre, out]);
    for (let i = 0; i < grad.length; i++) out[i] = pre[i] > 0 ? grad[i] + l1 : 0;
  },

  scaledDifference(a, b, scale, out) {
    sameLength("scaledDifference", ["a", "b", "out"], [a, b, out]);
    let sum = 0;
    for (let i = 0; i < a.length; i++) {
      const diff = a[i] - b[i];
      sum += diff * diff;
      out[i] = scale * diff;
    }
    return sum;
  },

  columnSums(x, out) {
    const cols = out.length;
    const rows = rowsOf("columnSums", "x", x, cols);
    const sums = new Float64Array(cols);
    for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) sums[j] += x[r * cols + j];
    out.set(sums);
  },

  sumSquares(x) {
    let sum = 0;
    for (let i = 0; i < x.length; i++) sum += x[i] * x[i];
    return sum;
  },

  axpy(alpha, x, y) {
    sameLength("axpy", ["x", "y"], [x, y]);
    for (let i = 0; i < x.length; i++) y[i] = alpha * x[i] + y[i];
  },

  projectOutParallel(grad, w, cols, eps) {
    sameLength("projectOutParallel", ["grad", "w"], [grad, w]);
    const rows = rowsOf("projectOutParallel", "w", w, cols);
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let normSq = 0;
      let dot = 0;
      for (let j = 0; j < cols; j++) {
        normSq += w[o + j] * w[o + j];
        dot += grad[o + j] * w[o + j];
      }
      const norm = Math.sqrt(normSq) + eps;
      if (norm === 0) continue;
      const coefficient = dot / (norm * norm); // (g·ŵ) ŵ = (g·w) w / norm²
      for (let j = 0; j < cols; j++) grad[o + j] -= coefficient * w[o + j];
    }
  },

  normalizeRows(w, cols, eps) {
    const rows = rowsOf("normalizeRows", "w", w, cols);
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let normSq = 0;
      for (let j = 0; j < cols; j++) normSq += w[o + j] * w[o + j];
      const norm = Math.sqrt(normSq) + eps;
      if (norm === 0) continue;
      for (let j = 0; j < cols; j++) w[o + j] /= norm;
    }
  },

  adam(param, grad, m, v, opts: AdamStep) {
    sameLength("adam", ["param", "grad", "m", "v"], [param, grad, m, v]);
    const { lr, beta1, beta2, eps, step, weightDecay } = opts;
    if (!(step >= 1)) throw new KernelShapeError("adam", `step = ${step}, must be ≥ 1`);
    const correction1 = 1 - Math.pow(beta1, step);
    const correction2 = 1 - Math.pow(beta2, step);
    const stepSize = lr / correction1;
    const sqrtCorrection2 = Math.sqrt(correction2);
    const decay = 1 - lr * weightDecay;
    for (let i = 0; i < param.length; i++) {
      const g = grad[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      const denominator = Math.sqrt(v[i]) / sqrtCorrection2 + eps;
      param[i] = param[i] * decay - (stepSize * m[i]) / denominator;
    }
  },

  gelu(x, out, kind) {
    sameLength("gelu", ["x", "out"], [x, out]);
    for (let i = 0; i < x.length; i++) out[i] = geluScalar(x[i], kind);
  },

  geluBackward(x, grad, out, kind) {
    sameLength("geluBackward", ["x", "grad", "out"], [x, grad, out]);
    for (let i = 0; i < x.length; i++) out[i] = grad[i] * geluDerivative(x[i], kind);
  },
};
