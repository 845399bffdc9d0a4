// The native (OpenBLAS addon) provider: the shared conformance suite plus what only the addon has (its own argument
// checks, OpenBLAS threads and build info). Skipped with the reason when the addon is not built here, unless
// SAEC_EXPECT_PROVIDERS names "native" (CI with OpenBLAS), where absence is a failure.

import { describe, expect, it } from "vitest";
import { loadNativeAddon, loadNativeKernels, type NativeKernels } from "../../compute/providers/native.js";
import { describeKernelConformance, loadProviderForTest } from "./kernel-conformance.js";

const { kernels: native, unavailable } = await loadProviderForTest("native", () => loadNativeKernels({ threads: 2 }));

describe.skipIf(!native)(`native provider${native ? "" : ` (skipped: ${unavailable})`}`, () => {
  const kernels = native as NativeKernels;

  it("reports its name and the requested threads; the last load sets OpenBLAS's process-wide count", async () => {
    expect(kernels.name).toBe("native");
    expect(kernels.threads).toBe(2);
    const single = await loadNativeKernels({ threads: 1 });
    expect(single.threads).toBe(1);
    expect(loadNativeAddon().getThreads()).toBe(1);
    await loadNativeKernels({ threads: 2 });
    expect(loadNativeAddon().getThreads()).toBe(2);
  });

  it("rejects a thread count that is not a positive integer, in JS and in the addon", async () => {
    await expect(loadNativeKernels({ threads: 0 })).rejects.toThrow(/threads = 0, expected a positive integer/);
    await expect(loadNativeKernels({ threads: 1.5 })).rejects.toThrow(RangeError);
    expect(() => loadNativeAddon().setThreads(0)).toThrow(/setThreads: threads must be between 1 and 1024/);
    expect(loadNativeAddon().getThreads()).toBe(2);
  });

  it("reports what OpenBLAS says about its build", () => {
    expect(kernels.blas).toEqual(loadNativeAddon().blasInfo());
    expect(kernels.blas.config).toMatch(/OpenBLAS/i);
    expect(kernels.blas.core.length).toBeGreaterThan(0);
    expect(["sequential", "pthreads", "openmp", "unknown"]).toContain(kernels.blas.parallel);
    expect(kernels.blas.processors).toBeGreaterThanOrEqual(1);
  });

  describeKernelConformance(kernels);

  it("the addon itself rejects bad arguments with an error, not a crash", () => {
    const addon = loadNativeAddon();
    const four = new Float32Array(4);
    expect(() => addon.sgemm(false, false, 2, 2, 3, 1, four, new Float32Array(6), 0, four)).toThrow(
      "sgemm: A [m, k] has 4 elements, needs 6",
    );
    expect(() => addon.sgemm(false, false, 2.5, 2, 2, 1, four, four, 0, four)).toThrow(/m = 2.5 is not a size/);
    expect(() => addon.axpy(1, new Float64Array(4) as unknown as Float32Array, four)).toThrow(
      "axpy: x must be a Float32Array",
    );
    expect(() => addon.normalizeRows(four, 3, 0)).toThrow("w has 4 elements, not a multiple of 3 columns");
    expect(() => addon.gelu(four, new Float32Array(5), true)).toThrow("out has 5 elements, x has 4");
    expect(() => (addon.sumSquares as (...args: unknown[]) => number)()).toThrow("expected 1 arguments");
  });
});
