// Routes tfjs's forward BatchMatMul (and _FusedMatMul, which tf.layers' dense reaches through tf.fused.matMul)
// on the cpu and wasm backends to a compute provider's sgemm. The kernel reads its operands in place from the
// backend's memory, writes into an output tensor the backend owns, and passes transposes to sgemm as flags, so no
// operand is ever copied. Dtypes other than float32 (and fused activations other than linear/relu, or a bias that
// is not one row) go to the stock kernel, which stays registered as the setup function and the fallback.

import type * as Tfjs from "@tensorflow/tfjs";
import type { Kernels } from "./kernels.js";
import { memoryOf, replaceStockKernel, restoreStockKernel, type BackendMemory, type RoutableBackend } from "./tfjs-backend-memory.js";

type Tf = typeof Tfjs;
type TensorInfo = Tfjs.TensorInfo;
type KernelFunc = Tfjs.KernelConfig["kernelFunc"];

export type { RoutableBackend };
export const ROUTED_KERNELS = ["BatchMatMul", "_FusedMatMul"] as const;

/** For each output batch, the batch offsets (in matrices) into a and b, with numpy broadcasting of the leading dims. */
export function broadcastBatchOffsets(
  aBatchShape: readonly number[],
  bBatchShape: readonly number[],
  outBatchShape: readonly number[],
): { a: Int32Array; b: Int32Array } {
  const rank = outBatchShape.length;
  const stridesOf = (shape: readonly number[]): number[] => {
    const padded = [...Array(rank - shape.length).fill(1), ...shape];
    const strides = new Array<number>(rank);
    let stride = 1;
    for (let axis = rank - 1; axis >= 0; axis--) {
      strides[axis] = padded[axis] === 1 ? 0 : stride; // a broadcast axis does not advance
      stride *= padded[axis];
    }
    return strides;
  };
  const aStrides = stridesOf(aBatchShape);
  const bStrides = stridesOf(bBatchShape);
  const count = outBatchShape.reduce((size, dim) => size * dim, 1);
  const a = new Int32Array(count);
  const b = new Int32Array(count);
  for (let batch = 0; batch < count; batch++) {
    let rest = batch;
    for (let axis = rank - 1; axis >= 0; axis--) {
      const index = rest % outBatchShape[axis];
      rest = (rest - index) / outBatchShape[axis];
      a[batch] += index * aStrides[axis];
      b[batch] += index * bStrides[axis];
    }
  }
  return { a, b };
}

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

/** C = op(A)·op(B) with broadcast batch dims, one sgemm per output matrix; undefined for inputs that are not float32. */
function sgemmBatchMatMul(
  kernels: Kernels,
  memory: BackendMemory,
  a: TensorInfo,
  b: TensorInfo,
  { transposeA, transposeB }: MatMulAttrs,
  tf: Tf,
): { info: TensorInfo; values: Float32Array } | undefined {
  if (a.dtype !== "float32" || b.dtype !== "float32") return undefined;
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  const m = transposeA ? a.shape[aRank - 1] : a.shape[aRank - 2];
  const k = transposeA ? a.shape[aRank - 2] : a.shape[aRank - 1];
  const kB = transposeB ? b.shape[bRank - 1] : b.shape[bRank - 2];
  const n = transposeB ? b.shape[bRank - 2] : b.shape[bRank - 1];
  if (k !== kB) {
    throw new Error(
      `matMul: inner dims ${k} (a of shape [${a.shape}], transposeA=${transposeA}) and ${kB} ` +
        `(b of shape [${b.shape}], transposeB=${transposeB}) must match`,
    );
  }
  const aBatchShape = a.shape.slice(0, -2);
  const bBatchShape = b.shape.slice(0, -2);
  const outBatchShape = tf.broadcast_util.assertAndGetBroadcastShape(aBatchShape, bBatchShape);
  if (!memory.view(a) || !memory.view(b)) return undefined;
  const out = memory.allocate([...outBatchShape, m, n]);
  // Views are taken after the allocation: on wasm a malloc can grow the heap, which detaches earlier views.
  const aValues = memory.view(a)!;
  const bValues = memory.view(b)!;
  const offsets = broadcastBatchOffsets(aBatchShape, bBatchShape, outBatchShape);
  const aSize = m * k;
  const bSize = k * n;
  const cSize = m * n;
  for (let batch = 0; batch < offsets.a.length; batch++) {
    const aOffset = offsets.a[batch] * aSize;
    const bOffset = offsets.b[batch] * bSize;
    kernels.sgemm(
      transposeA,
      transposeB,
      m,
      n,
      k,
      1,
      aValues.subarray(aOffset, aOffset + aSize),
      bValues.subarray(bOffset, bOffset + bSize),
      0,
      out.values.subarray(batch * cSize, (batch + 1) * cSize),
    );
  }
  return out;
}

function routedBatchMatMul(tf: Tf, backendName: RoutableBackend, kernels: Kernels, stock: KernelFunc): KernelFunc {
  return (params) => {
    const { a, b } = params.inputs as { a: TensorInfo; b: TensorInfo };
    const memory = memoryOf(backendName, params.backend);
    const result = sgemmBatchMatMul(kernels, memory, a, b, params.attrs as unknown as MatMulAttrs, tf);
    return result ? result.info : stock(params);
  };
}

interface FusedMatMulAttrs extends MatMulAttrs {
  activation: string;
}

/** A bias the fused kernel can add with kernels.biasAdd: n values laid out as one row ([n], [1, n], [1, 1, n]...). */
function isRowBias(bias: TensorInfo, n: number): boolean {
  return bias.shape[bias.shape.length - 1] === n && bias.shape.slice(0, -1).every((dim) => dim === 1);
}

function routedFusedMatMul(tf: Tf, backendName: RoutableBackend, kernels: Kernels, stock: KernelFunc): KernelFunc {
  return (params) => {
    const { a, b, bias, preluActivationWeights } = params.inputs as Record<string, TensorInfo | undefined>;
    const attrs = params.attrs as unknown as FusedMatMulAttrs;
    const relu = attrs.activation === "relu";
    if (!(attrs.activation === "linear" || relu) || preluActivationWeights != null || !a || !b) return stock(params);
    const memory = memoryOf(backendName, params.backend);
    const n = attrs.transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
    if (bias && !(isRowBias(bias, n) && memory.view(bias))) return stock(params);
    const result = sgemmBatchMatMul(kernels, memory, a, b, attrs, tf);
    if (!result) return stock(params);
    if ((bias || relu) && result.values.length > 0) {
      // The bias view is taken after the output's allocation, which may have moved the wasm heap.
      const rowBias = bias ? memory.view(bias)! : new Float32Array(n);
      kernels.biasAdd(result.values, rowBias, result.values, relu);
    }
    return result.info;
  };
}

const routedBackends = new Set<string>();

/** Whether BatchMatMul on this backend runs on a provider's sgemm (where transposed operands cost nothing). */
export function isMatMulRouted(backendName: string): boolean {
  return routedBackends.has(backendName);
}

/** Replaces BatchMatMul and _FusedMatMul on one backend with kernels that call `kernels.sgemm`. */
export function routeMatMulKernels(tf: Tf, backendName: RoutableBackend, kernels: Kernels): void {
  const routers = { BatchMatMul: routedBatchMatMul, _FusedMatMul: routedFusedMatMul };
  for (const kernelName of ROUTED_KERNELS) {
    replaceStockKernel(tf, kernelName, backendName, (stock) => routers[kernelName](tf, backendName, kernels, stock));
  }
  routedBackends.add(backendName);
}

/** Puts the stock BatchMatMul and _FusedMatMul back on one backend (a no-op if they were never routed). */
export function restoreStockMatMulKernels(tf: Tf, backendName: RoutableBackend): void {
  for (const kernelName of ROUTED_KERNELS) restoreStockKernel(tf, kernelName, backendName);
  routedBackends.delete(backendName);
}
