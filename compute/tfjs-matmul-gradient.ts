// The BatchMatMul gradient with explicit transposes. tfjs-wasm's transposed matmuls are 12-30x slower than plain
// ones and the stock gradient asks for them; the stock gradient also fails on broadcast batch dims (it returns a
// gradient of the broadcast shape). Here every matmul in the backward pass is a plain one on explicitly
// transposed operands, and gradients are summed over the batch dims their input was broadcast along.
// Where BatchMatMul is routed to a provider's sgemm (tfjs-matmul-kernel.ts), transposes are sgemm flags and cost
// nothing, so the backward matmuls take flags instead of transposed copies.
// tfjs 4.22 has no separate "MatMul" kernel: tf.matMul of any rank runs BatchMatMul.

import type * as Tfjs from "@tensorflow/tfjs";
import { isMatMulRouted } from "./tfjs-matmul-kernel.js";

type Tf = typeof Tfjs;
type Tensor = Tfjs.Tensor;

/** dA for y = op(A)·op(B), in A's stored layout, before any broadcast reduction. */
export function matMulGradientA(tf: Tf, dy: Tensor, b: Tensor, transposeA: boolean, transposeB: boolean): Tensor {
  if (isMatMulRouted(tf.getBackend())) {
    return transposeA ? tf.matMul(b, dy, transposeB, true) : tf.matMul(dy, b, false, !transposeB); // op(B)·dyᵀ, dy·op(B)ᵀ
  }
  if (!transposeA && !transposeB) return plainMatMul(tf, dy, swapLastTwo(tf, b)); // y = A·B:   dA = dy·Bᵀ
  if (!transposeA && transposeB) return plainMatMul(tf, dy, b); // y = A·Bᵀ:  dA = dy·B
  if (transposeA && !transposeB) return plainMatMul(tf, b, swapLastTwo(tf, dy)); // y = Aᵀ·B:  dA = B·dyᵀ
  return swapLastTwo(tf, plainMatMul(tf, dy, b)); // y = Aᵀ·Bᵀ: dA = (dy·B)ᵀ, one transpose instead of two
}

/** dB for y = op(A)·op(B), in B's stored layout, before any broadcast reduction. */
export function matMulGradientB(tf: Tf, dy: Tensor, a: Tensor, transposeA: boolean, transposeB: boolean): Tensor {
  if (isMatMulRouted(tf.getBackend())) {
    return transposeB ? tf.matMul(dy, a, true, transposeA) : tf.matMul(a, dy, !transposeA, false); // dyᵀ·op(A), op(A)ᵀ·dy
  }
  if (!transposeA && !transposeB) return plainMatMul(tf, swapLastTwo(tf, a), dy); // y = A·B:   dB = Aᵀ·dy
  if (!transposeA && transposeB) return plainMatMul(tf, swapLastTwo(tf, dy), a); // y = A·Bᵀ:  dB = dyᵀ·A
  if (transposeA && !transposeB) return plainMatMul(tf, a, dy); // y = Aᵀ·B:  dB = A·dy
  return swapLastTwo(tf, plainMatMul(tf, a, dy)); // y = Aᵀ·Bᵀ: dB = (A·dy)ᵀ
}

function plainMatMul(tf: Tf, x: Tensor, y: Tensor): Tensor {
  return tf.matMul(x, y, false, false);
}

/** Swaps the last two dims as a copy, so the matmul that reads it is an untransposed one. */
function swapLastTwo(tf: Tf, x: Tensor): Tensor {
  const perm = Array.from({ length: x.rank }, (_, i) => i);
  perm[x.rank - 2] = x.rank - 1;
  perm[x.rank - 1] = x.rank - 2;
  return tf.transpose(x, perm);
}

/** Sums a gradient over the batch dims its input was broadcast along, then gives it the input's shape. */
export function reduceToShape(tf: Tf, gradient: Tensor, shape: readonly number[]): Tensor {
  const axes = tf.broadcast_util.getReductionAxes([...shape], gradient.shape);
  const summed = axes.length > 0 ? tf.sum(gradient, axes) : gradient;
  return tf.reshape(summed, [...shape]);
}

/** Overrides the stock BatchMatMul gradient for every backend (gradients are backend-independent in tfjs). */
export function registerMatMulGradient(tf: Tf): void {
  tf.registerGradient({
    kernelName: "BatchMatMul",
    inputsToSave: ["a", "b"],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved;
      const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
      const upstream = dy as Tensor;
      // Each thunk runs in its own tidy and only for inputs that need a gradient, so they share nothing.
      return {
        a: () => reduceToShape(tf, matMulGradientA(tf, upstream, b, transposeA, transposeB), a.shape),
        b: () => reduceToShape(tf, matMulGradientB(tf, upstream, a, transposeA, transposeB), b.shape),
      };
    },
  });
}
