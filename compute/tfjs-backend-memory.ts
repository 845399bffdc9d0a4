// What a kernel routed from tfjs to a compute provider needs from the cpu and wasm backends: float32 views of
// tensors in place, outputs allocated in the backend's own memory, and the stock kernel it replaces (kept as the
// fallback and restored on request).

import type * as Tfjs from "@tensorflow/tfjs";

type Tf = typeof Tfjs;
type TensorInfo = Tfjs.TensorInfo;
type KernelConfig = Tfjs.KernelConfig;

export type RoutableBackend = "cpu" | "wasm";

/** Float32 views of a backend's tensors, and outputs allocated in its memory. */
export interface BackendMemory {
  /** The tensor's values in place, or undefined when they are not a float32 array the backend holds. */
  view(tensor: TensorInfo): Float32Array | undefined;
  /** A new float32 tensor owned by the backend, and a writable view of its values. */
  allocate(shape: number[]): { info: TensorInfo; values: Float32Array };
}

// The parts of tfjs-backend-cpu's MathBackendCPU the routed kernels use.
interface CpuBackend {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: "float32", values: Float32Array): TensorInfo;
}

// The parts of tfjs-backend-wasm's BackendWasm the routed kernels use.
interface WasmBackend {
  makeOutput(shape: number[], dtype: "float32"): TensorInfo;
  typedArrayFromHeap(tensor: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

function cpuMemory(backend: CpuBackend): BackendMemory {
  return {
    view: (tensor) => {
      const values = backend.data.get(tensor.dataId).values;
      return tensor.dtype === "float32" && values instanceof Float32Array ? values : undefined;
    },
    allocate: (shape) => {
      const values = new Float32Array(shape.reduce((size, dim) => size * dim, 1));
      return { info: backend.makeTensorInfo(shape, "float32", values), values };
    },
  };
}

function wasmMemory(backend: WasmBackend): BackendMemory {
  // A view over the wasm heap at the tensor's memory offset (BackendWasm.typedArrayFromHeap). A malloc can grow
  // the heap and detach earlier views: callers take views after their allocations.
  return {
    view: (tensor) => (tensor.dtype === "float32" ? (backend.typedArrayFromHeap(tensor) as Float32Array) : undefined),
    allocate: (shape) => {
      const info = backend.makeOutput(shape, "float32");
      return { info, values: backend.typedArrayFromHeap(info) as Float32Array };
    },
  };
}

export function memoryOf(backendName: RoutableBackend, backend: unknown): BackendMemory {
  return backendName === "cpu" ? cpuMemory(backend as CpuBackend) : wasmMemory(backend as WasmBackend);
}

const stockConfigs = new Map<string, KernelConfig>();

/** The kernel tfjs registered for (kernelName, backend) before any routing; remembered on first use. */
export function stockConfig(tf: Tf, kernelName: string, backendName: RoutableBackend): KernelConfig {
  const key = `${kernelName}/${backendName}`;
  if (!stockConfigs.has(key)) {
    const config = tf.getKernel(kernelName, backendName);
    if (!config) throw new Error(`tfjs has no ${kernelName} kernel registered for backend "${backendName}"`);
    stockConfigs.set(key, config);
  }
  return stockConfigs.get(key)!;
}

/** Replaces a stock kernel's kernelFunc, keeping its setup function (the wasm fallback needs its cwrap'd function). */
export function replaceStockKernel(
  tf: Tf,
  kernelName: string,
  backendName: RoutableBackend,
  route: (stock: KernelConfig["kernelFunc"]) => KernelConfig["kernelFunc"],
): void {
  const stock = stockConfig(tf, kernelName, backendName);
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ ...stock, kernelFunc: route(stock.kernelFunc) });
}

/** Puts a stock kernel back (a no-op if it was never replaced). */
export function restoreStockKernel(tf: Tf, kernelName: string, backendName: RoutableBackend): void {
  const stock = stockConfigs.get(`${kernelName}/${backendName}`);
  if (!stock) return;
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel(stock);
}
