// Throughput probes: how many GFLOP/s a provider's sgemm reaches on a given shape.

import type { Kernels } from "./kernels.js";

export interface GemmShape {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
}

export interface GemmProbe extends Required<GemmShape> {
  calls: number;
  seconds: number;
  gflops: number;
}

/** Runs sgemm on `shape` repeatedly for about `seconds` (after one warm-up call) and reports GFLOP/s. */
export function probeSgemm(kernels: Kernels, shape: GemmShape, seconds: number): GemmProbe {
  const { m, n, k, transA = false, transB = false } = shape;
  const a = new Float32Array(m * k).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const b = new Float32Array(k * n).map((_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
  const c = new Float32Array(m * n);
  kernels.sgemm(transA, transB, m, n, k, 1, a, b, 0, c);
  let calls = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  do {
    kernels.sgemm(transA, transB, m, n, k, 1, a, b, 0, c);
    calls++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  } while (elapsed < seconds);
  return { m, n, k, transA, transB, calls, seconds: elapsed, gflops: (2 * m * n * k * calls) / elapsed / 1e9 };
}
