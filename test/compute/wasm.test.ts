// The wasm (AssemblyScript SIMD) provider against the reference kernels. Skipped with the reason when
// compute/wasm/build/kernels.wasm is not built (npm run build:wasm), unless SAEC_EXPECT_PROVIDERS names "wasm".

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ProviderUnavailableError, type Kernels } from "../../compute/kernels.js";
import { loadWasmKernels } from "../../compute/providers/wasm.js";
import { packageRoot } from "../../io/package-root.js";
import { referenceKernels as reference } from "../../compute/reference.js";
import { describeKernelConformance, expectAdamBitExact, expectSgemmMatches, loadProviderForTest } from "./kernel-conformance.js";
import { randomArray } from "./random.js";

const { kernels: wasm, unavailable } = await loadProviderForTest("wasm", () => loadWasmKernels({ threads: 4 }));

describe("wasm provider loading", () => {
  it("finds the package root from a source file and from a file under dist/", () => {
    const root = packageRoot();
    expect(packageRoot(new URL(`file://${join(root, "dist", "compute", "providers", "wasm.js")}`).href)).toBe(root);
  });

  it("reports a missing kernels.wasm as unavailable, naming the file and the build script", async () => {
    const missing = join(packageRoot(), "compute", "wasm", "build", "no-such.wasm");
    const failure = loadWasmKernels({}, missing);
    await expect(failure).rejects.toThrow(ProviderUnavailableError);
    await expect(failure).rejects.toThrow(/no-such\.wasm is missing \(run npm run build:wasm\)/);
  });

  it("reports a file that is not WebAssembly as unavailable", async () => {
    await expect(loadWasmKernels({}, join(packageRoot(), "package.json"))).rejects.toThrow(/does not compile here/);
  });
});

describe.skipIf(!wasm)(`wasm provider${wasm ? "" : ` (skipped: ${unavailable})`}`, () => {
  const kernels = wasm as Kernels;

  it("is named wasm and runs on one thread whatever is asked", () => {
    expect(kernels.name).toBe("wasm");
    expect(kernels.threads).toBe(1);
  });

  describeKernelConformance(kernels);

  it("grows its memory for a large call and stays correct for small calls afterwards", () => {
    expectSgemmMatches(kernels, true, false, [3, 4, 2], 1, 0, 1);
    const n = 5_000_000; // 20 MB per array, past the initial memory
    const x = randomArray(n, 9);
    const expected = reference.sumSquares(x);
    expect(Math.abs(kernels.sumSquares(x) - expected)).toBeLessThanOrEqual(1e-12 * expected);
    expectSgemmMatches(kernels, false, true, [9, 11, 5], 0.5, 2, 2);
  });

  it("matches the reference bit for bit where both compute in float64 (adam, axpy, columnSums)", () => {
    expectAdamBitExact(kernels);
    const x = randomArray(17 * 59, 1);
    const y = randomArray(17 * 59, 2);
    const yExpected = y.slice();
    kernels.axpy(0.3, x, y);
    reference.axpy(0.3, x, yExpected);
    expect(y).toEqual(yExpected);
    const sums = new Float32Array(17);
    const sumsExpected = new Float32Array(17);
    kernels.columnSums(x, sums);
    reference.columnSums(x, sumsExpected);
    expect(sums).toEqual(sumsExpected);
  });
});
