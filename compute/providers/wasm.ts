// The "wasm" provider: compute/wasm/assembly/ compiled to SIMD WebAssembly (npm run build:wasm). Inputs are
// copied into the module's linear memory, the kernel runs there, and every array it updates is copied back.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  checkSgemm,
  KernelShapeError,
  ProviderUnavailableError,
  requireLength,
  rowsOf,
  sameLength,
  type Kernels,
  type ProviderOptions,
} from "../kernels.js";
import { packageRoot } from "../../io/package-root.js";

// tsconfig's lib (ES2023, no DOM) has no WebAssembly types: the few used here.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmModule {
  readonly compiled: unique symbol;
}
interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(module: WasmModule, imports: object): Promise<{ exports: unknown }>;
}
const WebAssemblyApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The exports of kernels.wasm (compute/wasm/assembly/index.ts); pointers are byte offsets into memory. */
interface WasmExports {
  memory: WasmMemory;
  heapBase(): number;
  sgemmScratchBytes(): number;
  sgemm(transA: number, transB: number, m: number, n: number, k: number, alpha: number, a: number, b: number, beta: number, c: number, scratch: number): void;
  biasAdd(x: number, bias: number, out: number, rows: number, cols: number, relu: number): void;
  reluBackward(grad: number, pre: number, l1: number, out: number, count: number): void;
  scaledDifference(a: number, b: number, scale: number, out: number, count: number): number;
  columnSums(x: number, rows: number, cols: number, out: number, sums: number): void;
  sumSquares(x: number, count: number): number;
  axpy(alpha: number, x: number, y: number, count: number): void;
  projectOutParallel(grad: number, w: number, rows: number, cols: number, eps: number): void;
  normalizeRows(w: number, rows: number, cols: number, eps: number): void;
  adam(param: number, grad: number, m: number, v: number, count: number, beta1: number, beta2: number, eps: number, stepSize: number, sqrtCorrection2: number, decay: number): void;
  gelu(x: number, out: number, count: number, exact: number): void;
  geluBackward(x: number, grad: number, out: number, count: number, exact: number): void;
}

const WASM_PAGE_BYTES = 65536;
const WASM32_MAX_BYTES = 65536 * WASM_PAGE_BYTES;

export function kernelsWasmPath(): string {
  return join(packageRoot(), "compute", "wasm", "build", "kernels.wasm");
}

const compiled = new Map<string, Promise<WasmModule>>(); // by path: compile once per process

async function compileKernels(path: string): Promise<WasmModule> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    throw new ProviderUnavailableError("wasm", `${path} is missing (run npm run build:wasm)`);
  }
  try {
    return await WebAssemblyApi.compile(bytes);
  } catch (error) {
    throw new ProviderUnavailableError("wasm", `${path} does not compile here (WebAssembly SIMD needed): ${String(error)}`);
  }
}

/** Linear memory above heapBase, laid out afresh for each call: blocks are 16-byte aligned and memory grows to fit. */
class Arena {
  private readonly base: number;

  constructor(private readonly memory: WasmMemory, heapBase: number) {
    this.base = align16(heapBase);
  }

  /** Byte offsets of consecutive blocks of the given byte sizes, growing memory when they do not fit. */
  layout(kernel: string, byteSizes: number[]): number[] {
    const offsets: number[] = [];
    let end = this.base;
    for (const size of byteSizes) {
      offsets.push(end);
      end = align16(end + size);
    }
    if (end > WASM32_MAX_BYTES) {
      throw new KernelShapeError(kernel, `needs ${end} bytes of wasm memory, more than the 4 GiB wasm32 can address`);
    }
    const missing = end - this.memory.buffer.byteLength;
    if (missing > 0) {
      try {
        this.memory.grow(Math.ceil(missing / WASM_PAGE_BYTES));
      } catch (error) {
        throw new Error(`wasm ${kernel}: cannot grow linear memory to ${end} bytes: ${String(error)}`);
      }
    }
    return offsets;
  }

  /** A view of `length` floats at `offset` (taken after layout, since growing detaches older views). */
  floats(offset: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, offset, length);
  }

  /** Copies the first `length` floats of `source` in at `offset`. */
  write(offset: number, source: Float32Array, length = source.length): void {
    this.floats(offset, length).set(length === source.length ? source : source.subarray(0, length));
  }

  /** Copies `length` floats at `offset` out into `target`. */
  read(offset: number, target: Float32Array, length = target.length): void {
    target.set(this.floats(offset, length));
  }
}

function align16(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

/**
 * Loads the wasm kernels (from `wasmPath`, default the package's build) in a fresh instance; throws
 * ProviderUnavailableError when kernels.wasm is missing or invalid.
 */
export async function loadWasmKernels(_options: ProviderOptions = {}, wasmPath = kernelsWasmPath()): Promise<Kernels> {
  let pending = compiled.get(wasmPath);
  if (!pending) {
    pending = compileKernels(wasmPath);
    compiled.set(wasmPath, pending);
  }
  let module: WasmModule;
  try {
    module = await pending;
  } catch (error) {
    compiled.delete(wasmPath); // a later build:wasm may fix it
    throw error;
  }
  let instance: { exports: unknown };
  try {
    instance = await WebAssemblyApi.instantiate(module, {}); // built with --noAssert: no abort import
  } catch (error) {
    throw new ProviderUnavailableError("wasm", `${wasmPath} does not instantiate (rebuild it): ${String(error)}`);
  }
  const wasm = instance.exports as unknown as WasmExports;
  const arena = new Arena(wasm.memory, wasm.heapBase());
  const scratchBytes = wasm.sgemmScratchBytes();

  return {
    name: "wasm",
    threads: 1,

    sgemm(transA, transB, m, n, k, alpha, a, b, beta, c) {
      checkSgemm(transA, transB, m, n, k, a, b, c);
      const [pa, pb, pc, scratch] = arena.layout("sgemm", [m * k * 4, k * n * 4, m * n * 4, scratchBytes]);
      arena.write(pa, a, m * k);
      arena.write(pb, b, k * n);
      if (beta !== 0) arena.write(pc, c, m * n); // beta = 0 ignores C's contents
      wasm.sgemm(+transA, +transB, m, n, k, alpha, pa, pb, beta, pc, scratch);
      arena.read(pc, c, m * n);
    },

    biasAdd(x, bias, out, relu) {
      const cols = bias.length;
      const rows = rowsOf("biasAdd", "x", x, cols);
      requireLength("biasAdd", "out", out, rows * cols);
      const [px, pbias] = arena.layout("biasAdd", [x.length * 4, cols * 4]);
      arena.write(px, x);
      arena.write(pbias, bias);
      wasm.biasAdd(px, pbias, px, rows, cols, +relu);
      arena.read(px, out, x.length);
    },

    reluBackward(grad, pre, l1, out) {
      sameLength("reluBackward", ["grad", "pre", "out"], [grad, pre, out]);
      const [pgrad, ppre] = arena.layout("reluBackward", [grad.length * 4, pre.length * 4]);
      arena.write(pgrad, grad);
      arena.write(ppre, pre);
      wasm.reluBackward(pgrad, ppre, l1, pgrad, grad.length);
      arena.read(pgrad, out);
    },

    scaledDifference(a, b, scale, out) {
      sameLength("scaledDifference", ["a", "b", "out"], [a, b, out]);
      const [pa, pb] = arena.layout("scaledDifference", [a.length * 4, b.length * 4]);
      arena.write(pa, a);
      arena.write(pb, b);
      const sum = wasm.scaledDifference(pa, pb, scale, pa, a.length);
      arena.read(pa, out);
      return sum;
    },

    columnSums(x, out) {
      const cols = out.length;
      const rows = rowsOf("columnSums", "x", x, cols);
      const [px, pout, psums] = arena.layout("columnSums", [x.length * 4, cols * 4, cols * 8]);
      arena.write(px, x);
      wasm.columnSums(px, rows, cols, pout, psums);
      arena.read(pout, out);
    },

    sumSquares(x) {
      const [px] = arena.layout("sumSquares", [x.length * 4]);
      arena.write(px, x);
      return wasm.sumSquares(px, x.length);
    },

    axpy(alpha, x, y) {
      sameLength("axpy", ["x", "y"], [x, y]);
      const [px, py] = arena.layout("axpy", [x.length * 4, y.length * 4]);
      arena.write(px, x);
      arena.write(py, y);
      wasm.axpy(alpha, px, py, x.length);
      arena.read(py, y);
    },

    projectOutParallel(grad, w, cols, eps) {
      sameLength("projectOutParallel", ["grad", "w"], [grad, w]);
      const rows = rowsOf("projectOutParallel", "w", w, cols);
      const [pgrad, pw] = arena.layout("projectOutParallel", [grad.length * 4, w.length * 4]);
      arena.write(pgrad, grad);
      arena.write(pw, w);
      wasm.projectOutParallel(pgrad, pw, rows, cols, eps);
      arena.read(pgrad, grad);
    },

    normalizeRows(w, cols, eps) {
      const rows = rowsOf("normalizeRows", "w", w, cols);
      const [pw] = arena.layout("normalizeRows", [w.length * 4]);
      arena.write(pw, w);
      wasm.normalizeRows(pw, rows, cols, eps);
      arena.read(pw, w);
    },

    adam(param, grad, m, v, opts) {
      sameLength("adam", ["param", "grad", "m", "v"], [param, grad, m, v]);
      const { lr, beta1, beta2, eps, step, weightDecay } = opts;
      if (!(step >= 1)) throw new KernelShapeError("adam", `step = ${step}, must be ≥ 1`);
      const bytes = param.length * 4;
      const [pparam, pgrad, pm, pv] = arena.layout("adam", [bytes, bytes, bytes, bytes]);
      arena.write(pparam, param);
      arena.write(pgrad, grad);
      arena.write(pm, m);
      arena.write(pv, v);
      const stepSize = lr / (1 - Math.pow(beta1, step));
      const sqrtCorrection2 = Math.sqrt(1 - Math.pow(beta2, step));
      wasm.adam(pparam, pgrad, pm, pv, param.length, beta1, beta2, eps, stepSize, sqrtCorrection2, 1 - lr * weightDecay);
      arena.read(pparam, param);
      arena.read(pm, m);
      arena.read(pv, v);
    },

    gelu(x, out, kind) {
      sameLength("gelu", ["x", "out"], [x, out]);
      const [px] = arena.layout("gelu", [x.length * 4]);
      arena.write(px, x);
      wasm.gelu(px, px, x.length, +(kind === "gelu"));
      arena.read(px, out);
    },

    geluBackward(x, grad, out, kind) {
      sameLength("geluBackward", ["x", "grad", "out"], [x, grad, out]);
      const [px, pgrad] = arena.layout("geluBackward", [x.length * 4, grad.length * 4]);
      arena.write(px, x);
      arena.write(pgrad, grad);
      wasm.geluBackward(px, pgrad, pgrad, x.length, +(kind === "gelu"));
      arena.read(pgrad, out);
    },
  };
}
