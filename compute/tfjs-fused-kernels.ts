// Element-wise and reduction work of GPT training that tfjs-wasm runs slowly, moved to the compute provider
// (profile of an othello-4l-128 training step: GELU's erf and its gradient's exp, and the bias gradients' sums over
// the batch and position axes, were a third of the step):
//   - SaecGelu / SaecGeluGrad: GELU forward and backward in one pass each (kernels.gelu, kernels.geluBackward), with
//     the gradient registered, instead of tfjs's five-op composite and its tape;
//   - Sum over leading axes (every bias gradient: [B, T, n] → [n]) as kernels.columnSums, summed in float64, instead
//     of a transpose and a float32 sum. Other reductions go to the stock kernel;
//   - on wasm, Identity shares its input's data (reference-counted, as the cpu backend's does) instead of copying
//     it: tfjs clones every tensor a gradient saves, and tensors are never written in place.
// Like the routed matmuls, these read operands in place from the backend's memory and write into tensors it owns.

import type * as Tfjs from "@tensorflow/tfjs";
import type { GeluKind, Kernels } from "./kernels.js";
import { memoryOf, replaceStockKernel, restoreStockKernel, type RoutableBackend } from "./tfjs-backend-memory.js";

type Tf = typeof Tfjs;
type Tensor = Tfjs.Tensor;
type TensorInfo = Tfjs.TensorInfo;
type KernelFunc = Tfjs.KernelConfig["kernelFunc"];

export const GELU_KERNEL = "SaecGelu";
export const GELU_GRAD_KERNEL = "SaecGeluGrad";

interface GeluAttrs {
  kind: GeluKind;
}

function geluKernel(backendName: RoutableBackend, kernels: Kernels): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    const memory = memoryOf(backendName, backend);
    const out = memory.allocate([...x.shape]);
    const values = memory.view(x); // after the allocation, which may move the wasm heap
    if (!values) throw new Error(`${GELU_KERNEL}: input of dtype ${x.dtype}, expected float32`);
    kernels.gelu(values, out.values, (attrs as unknown as GeluAttrs).kind);
    return out.info;
  };
}

function geluGradKernel(backendName: RoutableBackend, kernels: Kernels): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, x } = inputs as { dy: TensorInfo; x: TensorInfo };
    const memory = memoryOf(backendName, backend);
    const out = memory.allocate([...x.shape]);
    const xValues = memory.view(x);
    const dyValues = memory.view(dy);
    if (!xValues || !dyValues) throw new Error(`${GELU_GRAD_KERNEL}: inputs of dtype ${x.dtype}/${dy.dtype}, expected float32`);
    kernels.geluBackward(xValues, dyValues, out.values, (attrs as unknown as GeluAttrs).kind);
    return out.info;
  };
}

interface SumAttrs {
  axis: number | number[] | null;
  keepDims: boolean;
}

/** The number of leading axes a reduction over `axis` removes, or undefined when it is not exactly the leading ones. */
export function leadingReductionAxes(axis: SumAttrs["axis"], rank: number): number | undefined {
  const axes = axis === null ? Array.from({ length: rank }, (_, i) => i) : Array.isArray(axis) ? axis : [axis];
  const normalised = [...new Set(axes.map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
  if (normalised.length === 0 || normalised.some((a, i) => a !== i)) return undefined;
  return normalised.length;
}

function routedSum(backendName: RoutableBackend, kernels: Kernels, stock: KernelFunc): KernelFunc {
  return (params) => {
    const { x } = params.inputs as { x: TensorInfo };
    const { axis, keepDims } = params.attrs as unknown as SumAttrs;
    const leading = leadingReductionAxes(axis, x.shape.length);
    if (x.dtype !== "float32" || leading === undefined || x.shape.some((dim) => dim === 0)) return stock(params);
    const memory = memoryOf(backendName, params.backend);
    const outShape = keepDims ? x.shape.map((dim, i) => (i < leading ? 1 : dim)) : x.shape.slice(leading);
    const out = memory.allocate(outShape);
    const values = memory.view(x);
    if (!values) return stock(params);
    kernels.columnSums(values, out.values);
    return out.info;
  };
}

interface WasmRefCounting {
  incRef(dataId: object): void;
}

function sharedIdentity(stock: KernelFunc): KernelFunc {
  return (params) => {
    const { x } = params.inputs as { x: TensorInfo };
    if (x.dtype === "string") return stock(params);
    (params.backend as unknown as WasmRefCounting).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
}

/** Registers SaecGelu/SaecGeluGrad and routes leading-axis Sum (and on wasm, Identity) on one backend to `kernels`. */
export function routeFusedKernels(tf: Tf, backendName: RoutableBackend, kernels: Kernels): void {
  registerGeluGradient(tf);
  for (const [kernelName, kernelFunc] of [
    [GELU_KERNEL, geluKernel(backendName, kernels)],
    [GELU_GRAD_KERNEL, geluGradKernel(backendName, kernels)],
  ] as const) {
    if (tf.getKernel(kernelName, backendName)) tf.unregisterKernel(kernelName, backendName);
    tf.registerKernel({ kernelName, backendName, kernelFunc });
  }
  replaceStockKernel(tf, "Sum", backendName, (stock) => routedSum(backendName, kernels, stock));
  if (backendName === "wasm") replaceStockKernel(tf, "Identity", backendName, sharedIdentity);
}

/** Removes SaecGelu/SaecGeluGrad from one backend and puts its stock Sum and Identity back (no-ops if never routed). */
export function restoreStockFusedKernels(tf: Tf, backendName: RoutableBackend): void {
  for (const kernelName of [GELU_KERNEL, GELU_GRAD_KERNEL]) {
    if (tf.getKernel(kernelName, backendName)) tf.unregisterKernel(kernelName, backendName);
  }
  restoreStockKernel(tf, "Sum", backendName);
  restoreStockKernel(tf, "Identity", backendName);
}

let geluGradientRegistered = false;

function registerGeluGradient(tf: Tf): void {
  if (geluGradientRegistered) return;
  tf.registerGradient({
    kernelName: GELU_KERNEL,
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => ({
      x: () => tf.engine().runKernel(GELU_GRAD_KERNEL, { dy: dy as Tensor, x: saved[0] }, attrs as unknown as Tfjs.NamedAttrMap) as Tensor,
    }),
  });
  geluGradientRegistered = true;
}

/** GELU of a float32 tensor as one provider kernel (with its gradient), or undefined where it is not routed. */
export function fusedGelu(tf: Tf, x: Tensor, kind: GeluKind): Tensor | undefined {
  if (x.dtype !== "float32" || !tf.getKernel(GELU_KERNEL, tf.getBackend())) return undefined;
  return tf.engine().runKernel(GELU_KERNEL, { x }, { kind } as unknown as Tfjs.NamedAttrMap) as Tensor;
}
