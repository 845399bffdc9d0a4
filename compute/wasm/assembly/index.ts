// Entry of kernels.wasm: every kernel of compute/kernels.ts over raw pointers into this module's memory.
// The JS side (compute/providers/wasm.ts) owns all memory above heapBase(); nothing here allocates.

export { sgemm, sgemmScratchBytes } from "./sgemm";
export { axpy, biasAdd, reluBackward, scaledDifference } from "./elementwise";
export { columnSums, normalizeRows, projectOutParallel, sumSquares } from "./reductions";
export { adam } from "./adam";
export { gelu, geluBackward } from "./gelu";

/** First byte past the module's static data: the JS side places its arrays from here. */
export function heapBase(): usize {
  return __heap_base;
}
