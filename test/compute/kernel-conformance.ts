// The conformance suite every fast provider runs: each kernel on seeded random inputs against referenceKernels.
// A provider test file loads its provider with loadProviderForTest and passes it to describeKernelConformance.

import { describe, expect, it } from "vitest";
import {
  KernelShapeError,
  ProviderUnavailableError,
  type GeluKind,
  type Kernels,
  type ProviderName,
} from "../../compute/kernels.js";
import { referenceKernels as reference } from "../../compute/reference.js";
import { randomArray } from "./random.js";

/** Providers SAEC_EXPECT_PROVIDERS (comma list) names: for these, failing to load is a test failure. */
export function expectedProviders(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.SAEC_EXPECT_PROVIDERS ?? "").split(",").map((name) => name.trim());
}

export interface LoadedForTest {
  kernels?: Kernels;
  /** Why the provider did not load ("" when it did). */
  unavailable: string;
}

/**
 * Loads a provider for a test file. When it cannot load, registers a failing test if SAEC_EXPECT_PROVIDERS names
 * it; otherwise the caller's describe.skipIf shows the reason.
 */
export async function loadProviderForTest(name: ProviderName, load: () => Promise<Kernels>): Promise<LoadedForTest> {
  try {
    return { kernels: await load(), unavailable: "" };
  } catch (error) {
    if (!(error instanceof ProviderUnavailableError)) throw error;
    if (expectedProviders().includes(name)) {
      describe(`${name} provider`, () => {
        it(`loads, since SAEC_EXPECT_PROVIDERS names ${name}`, () => {
          expect.fail(`${name} provider unavailable: ${error.reason}`);
        });
      });
    }
    return { unavailable: error.reason };
  }
}

/** Every element within abs + rel·|expected|; reports the first element that is not. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, abs = 0): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tolerance = abs + rel * Math.abs(expected[i]);
    if (!(Math.abs(actual[i] - expected[i]) <= tolerance)) {
      expect.fail(`element ${i}: ${actual[i]} vs reference ${expected[i]} (tolerance ${tolerance})`);
    }
  }
}

function absolute(values: Float32Array): Float32Array {
  return values.map(Math.abs);
}

/**
 * Checks sgemm against the reference; the float32 accumulation error allowed grows with k, relative to
 * Σ|alpha·a·b| + |beta·c| of each element.
 */
export function expectSgemmMatches(
  kernels: Kernels,
  transA: boolean,
  transB: boolean,
  [m, n, k]: readonly [number, number, number],
  alpha: number,
  beta: number,
  seed: number,
): void {
  const a = randomArray(m * k, seed);
  const b = randomArray(k * n, seed + 1);
  const start = beta === 0 ? new Float32Array(m * n).fill(Number.NaN) : randomArray(m * n, seed + 2);
  const expected = start.slice();
  reference.sgemm(transA, transB, m, n, k, alpha, a, b, beta, expected);
  const actual = start.slice();
  kernels.sgemm(transA, transB, m, n, k, alpha, a, b, beta, actual);
  const magnitude = beta === 0 ? new Float32Array(m * n) : absolute(start);
  reference.sgemm(transA, transB, m, n, k, Math.abs(alpha), absolute(a), absolute(b), Math.abs(beta), magnitude);
  for (let i = 0; i < m * n; i++) {
    const tolerance = 1e-6 * (k + 1) * magnitude[i] + 1e-30;
    if (!(Math.abs(actual[i] - expected[i]) <= tolerance)) {
      expect.fail(`C[${i}]: ${actual[i]} vs reference ${expected[i]} (tolerance ${tolerance})`);
    }
  }
}

/** Adam computed in float64 with float32 stores, as the reference does, gives the reference's bits exactly. */
export function expectAdamBitExact(kernels: Kernels): void {
  const n = 1003;
  const grad = randomArray(n, 2, 0.1);
  const state = [randomArray(n, 1), randomArray(n, 3, 0.01), randomArray(n, 4, 1e-4).map(Math.abs)];
  const expected = state.map((array) => array.slice());
  const opts = { lr: 3e-4, beta1: 0.9, beta2: 0.99, eps: 1e-8, step: 7, weightDecay: 0.1 };
  reference.adam(expected[0], grad, expected[1], expected[2], opts);
  kernels.adam(state[0], grad, state[1], state[2], opts);
  for (let i = 0; i < 3; i++) expect(state[i]).toEqual(expected[i]);
}

/** Registers the whole suite for one loaded provider. */
export function describeKernelConformance(kernels: Kernels): void {
  // Sizes off multiples of 4 and 8, k = 1, and (for blocked kernels) past 128 rows, 128 and 256 deep and 2048 columns.
  const shapes: [m: number, n: number, k: number][] = [
    [1, 1, 1],
    [3, 5, 1],
    [7, 13, 9],
    [33, 17, 65],
    [64, 64, 64],
    [100, 37, 250],
    [130, 260, 129],
    [130, 260, 300],
    [5, 2063, 6],
  ];
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      for (const [m, n, k] of shapes) {
        for (const [alpha, beta] of [[1, 0], [-0.7, 0.5], [2, 1]] as const) {
          it(`sgemm transA=${transA} transB=${transB} [${m}x${k}]x[${k}x${n}] alpha=${alpha} beta=${beta}`, () => {
            expectSgemmMatches(kernels, transA, transB, [m, n, k], alpha, beta, m * 1000 + n * 10 + k);
          });
        }
      }
    }
  }

  it("sgemm reads only the first m·k / k·n elements of longer A and B", () => {
    const [m, n, k] = [6, 5, 3];
    const a = randomArray(m * k + 10, 1);
    const b = randomArray(k * n + 10, 2);
    const expected = new Float32Array(m * n);
    reference.sgemm(false, true, m, n, k, 1, a, b, 0, expected);
    const actual = new Float32Array(m * n);
    kernels.sgemm(false, true, m, n, k, 1, a, b, 0, actual);
    expectClose(actual, expected, 1e-6, 1e-7);
  });

  it("sgemm with k = 0 scales C by beta, and m = 0 or n = 0 touches nothing", () => {
    const c = randomArray(12, 5);
    const expected = c.map((value) => 0.5 * value);
    kernels.sgemm(false, false, 4, 3, 0, 1, new Float32Array(0), new Float32Array(0), 0.5, c);
    expectClose(c, expected, 1e-7);
    const nan = new Float32Array(12).fill(Number.NaN);
    kernels.sgemm(true, true, 4, 3, 0, 1, new Float32Array(0), new Float32Array(0), 0, nan);
    expect(Array.from(nan)).toEqual(new Array(12).fill(0));
    const untouched = randomArray(4, 6);
    kernels.sgemm(false, false, 0, 4, 3, 1, new Float32Array(0), randomArray(12, 7), 0, untouched);
    expect(untouched).toEqual(randomArray(4, 6));
  });

  for (const [rows, cols] of [[1, 1], [3, 7], [17, 33], [64, 100], [9, 4099]] as const) {
    for (const relu of [false, true]) {
      it(`biasAdd [${rows}, ${cols}] relu=${relu}, into out and in place`, () => {
        const x = randomArray(rows * cols, rows + cols);
        const bias = randomArray(cols, cols + 3, 0.5);
        const expected = new Float32Array(rows * cols);
        reference.biasAdd(x, bias, expected, relu);
        const out = new Float32Array(rows * cols).fill(Number.NaN);
        kernels.biasAdd(x, bias, out, relu);
        expectClose(out, expected, 1e-6);
        const inPlace = x.slice();
        kernels.biasAdd(inPlace, bias, inPlace, relu);
        expectClose(inPlace, expected, 1e-6);
      });
    }
  }

  for (const n of [1, 7, 33, 1000, 65_539]) {
    it(`reluBackward n=${n}, into out and in place`, () => {
      const grad = randomArray(n, n);
      const pre = randomArray(n, n + 1);
      const expected = new Float32Array(n);
      reference.reluBackward(grad, pre, 0.01, expected);
      const out = new Float32Array(n);
      kernels.reluBackward(grad, pre, 0.01, out);
      expectClose(out, expected, 1e-6);
      kernels.reluBackward(grad, pre, 0.01, grad);
      expectClose(grad, expected, 1e-6);
    });

    it(`scaledDifference n=${n}`, () => {
      const a = randomArray(n, n + 2);
      const b = randomArray(n, n + 3);
      const expected = new Float32Array(n);
      const expectedSum = reference.scaledDifference(a, b, 2 / n, expected);
      const out = new Float32Array(n);
      expect(Math.abs(kernels.scaledDifference(a, b, 2 / n, out) - expectedSum)).toBeLessThanOrEqual(1e-12 * expectedSum);
      expectClose(out, expected, 1e-6);
      kernels.scaledDifference(a, b, 2 / n, a); // out aliases a
      expectClose(a, expected, 1e-6);
    });

    it(`sumSquares n=${n}`, () => {
      const x = randomArray(n, n + 4, 3);
      const expected = reference.sumSquares(x);
      expect(Math.abs(kernels.sumSquares(x) - expected)).toBeLessThanOrEqual(1e-12 * expected);
    });

    it(`axpy n=${n}`, () => {
      const x = randomArray(n, n + 5);
      const expected = randomArray(n, n + 6);
      const y = expected.slice();
      reference.axpy(-1.3, x, expected);
      kernels.axpy(-1.3, x, y);
      expectClose(y, expected, 1e-6, 1e-7);
    });

    for (const kind of ["gelu", "gelu_new"] as GeluKind[]) {
      it(`${kind} forward and backward n=${n}`, () => {
        const x = randomArray(n, n + 7, 6); // both tails and the region around 0
        const grad = randomArray(n, n + 8);
        const expected = new Float32Array(n);
        reference.gelu(x, expected, kind);
        const out = new Float32Array(n);
        kernels.gelu(x, out, kind);
        expectClose(out, expected, 1e-6, 1e-12);
        const expectedBackward = new Float32Array(n);
        reference.geluBackward(x, grad, expectedBackward, kind);
        kernels.geluBackward(x, grad, out, kind);
        expectClose(out, expectedBackward, 1e-6, 1e-12);
      });
    }
  }

  it("gelu at extreme inputs", () => {
    const x = new Float32Array([-100, -20, -9, -1e-20, 0, 1e-20, 9, 20, 100, 1e4]);
    const grad = new Float32Array(x.length).fill(1);
    for (const kind of ["gelu", "gelu_new"] as GeluKind[]) {
      const expected = new Float32Array(x.length);
      const out = new Float32Array(x.length);
      reference.gelu(x, expected, kind);
      kernels.gelu(x, out, kind);
      expectClose(out, expected, 1e-6, 1e-30);
      reference.geluBackward(x, grad, expected, kind);
      kernels.geluBackward(x, grad, out, kind);
      expectClose(out, expected, 1e-6, 1e-30);
    }
  });

  for (const [rows, cols] of [[1, 1], [5, 3], [64, 100], [17, 1031]] as const) {
    it(`columnSums [${rows}, ${cols}]`, () => {
      const x = randomArray(rows * cols, rows * cols);
      const expected = new Float32Array(cols);
      reference.columnSums(x, expected);
      const out = new Float32Array(cols).fill(Number.NaN);
      kernels.columnSums(x, out);
      expectClose(out, expected, 1e-6);
    });

    it(`projectOutParallel and normalizeRows [${rows}, ${cols}]`, () => {
      const w = randomArray(rows * cols, rows + 11);
      w.fill(0, 0, cols); // a zero row: with eps = 0 its norm is 0 and it is left alone
      const grad = randomArray(rows * cols, rows + 12);
      for (const eps of [0, 1e-8]) {
        const expectedGrad = grad.slice();
        reference.projectOutParallel(expectedGrad, w, cols, eps);
        const actualGrad = grad.slice();
        kernels.projectOutParallel(actualGrad, w, cols, eps);
        expectClose(actualGrad, expectedGrad, 1e-6, 1e-7);
        const expectedW = w.slice();
        reference.normalizeRows(expectedW, cols, eps);
        const actualW = w.slice();
        kernels.normalizeRows(actualW, cols, eps);
        expectClose(actualW, expectedW, 1e-6);
      }
    });
  }

  for (const n of [1, 7, 10_007]) {
    for (const weightDecay of [0, 0.01]) {
      it(`adam three steps n=${n}, weightDecay=${weightDecay}, updating param, m and v in place`, () => {
        const expected = [randomArray(n, 21), new Float32Array(n), new Float32Array(n)];
        const actual = expected.map((array) => array.slice());
        for (let step = 1; step <= 3; step++) {
          const grad = randomArray(n, 30 + step, 0.1);
          const opts = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, step, weightDecay };
          reference.adam(expected[0], grad, expected[1], expected[2], opts);
          kernels.adam(actual[0], grad, actual[1], actual[2], opts);
        }
        for (let i = 0; i < 3; i++) expectClose(actual[i], expected[i], 1e-6, 1e-12);
      });
    }
  }

  it("rejects wrong sizes with KernelShapeError", () => {
    const four = new Float32Array(4);
    expect(() => kernels.sgemm(false, false, 2, 2, 3, 1, four, new Float32Array(6), 0, four)).toThrow(KernelShapeError);
    expect(() => kernels.sgemm(true, false, 2, 2, 2, 1, four, four, 0, new Float32Array(3))).toThrow(/C \[m, n\] has 3/);
    expect(() => kernels.sgemm(false, false, -1, 2, 2, 1, four, four, 0, four)).toThrow(KernelShapeError);
    expect(() => kernels.biasAdd(new Float32Array(7), new Float32Array(3), new Float32Array(7), true)).toThrow(KernelShapeError);
    expect(() => kernels.biasAdd(new Float32Array(6), new Float32Array(3), four, false)).toThrow(/out has 4/);
    expect(() => kernels.reluBackward(four, new Float32Array(5), 0, four)).toThrow(KernelShapeError);
    expect(() => kernels.scaledDifference(four, four, 1, new Float32Array(3))).toThrow(/out has 3/);
    expect(() => kernels.axpy(1, four, new Float32Array(5))).toThrow(KernelShapeError);
    expect(() => kernels.columnSums(new Float32Array(7), new Float32Array(2))).toThrow(KernelShapeError);
    expect(() => kernels.projectOutParallel(four, new Float32Array(8), 2, 0)).toThrow(KernelShapeError);
    expect(() => kernels.normalizeRows(four, 3, 0)).toThrow(KernelShapeError);
    const opts = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 0, weightDecay: 0 };
    expect(() => kernels.adam(four, four, four, four, opts)).toThrow(KernelShapeError);
    expect(() => kernels.adam(four, four, four, new Float32Array(3), { ...opts, step: 1 })).toThrow(/v has 3/);
    expect(() => kernels.gelu(four, new Float32Array(3), "gelu")).toThrow(KernelShapeError);
    expect(() => kernels.geluBackward(four, four, new Float32Array(3), "gelu_new")).toThrow(KernelShapeError);
  });
}
