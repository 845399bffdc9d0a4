// initTfjs: backend choice, the explicit-transpose BatchMatMul gradient, and matmuls routed to a provider's sgemm.
// Every routed result is held against the stock tfjs kernel and against a float64 matmul written here.

import * as tf from "@tensorflow/tfjs";
import { afterAll, describe, expect, it } from "vitest";
import type { Kernels } from "../../compute/kernels.js";
import { referenceKernels } from "../../compute/reference.js";
import { kernels as selectedKernels } from "../../compute/select.js";
import { currentTfjsRuntime, initTfjs, resolveTfjsNode, TfjsBackendUnavailableError } from "../../compute/tfjs.js";
import { broadcastBatchOffsets } from "../../compute/tfjs-matmul-kernel.js";
import { randomArray } from "./random.js";

// Captured before any initTfjs call replaces it: the gradient tfjs ships for BatchMatMul.
const stockGradient = tf.getGradient("BatchMatMul")!;

type Shape = number[];
const TRANSPOSES: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

/** A matmul case in logical terms: op(A) is [...aBatch, m, k], op(B) is [...bBatch, k, n]. */
interface MatMulCase {
  name: string;
  aBatch: Shape;
  bBatch: Shape;
  m: number;
  k: number;
  n: number;
}

// Shapes the stock kernels also get right: equal batches, a batch of 1, a missing batch.
const STOCK_CASES: MatMulCase[] = [
  { name: "2-d", aBatch: [], bBatch: [], m: 5, k: 7, n: 3 },
  { name: "batched", aBatch: [3], bBatch: [3], m: 4, k: 6, n: 5 },
  { name: "batch of 1 broadcast", aBatch: [1], bBatch: [3], m: 4, k: 6, n: 5 },
  { name: "rank-2 b broadcast", aBatch: [2, 3], bBatch: [], m: 4, k: 6, n: 5 },
  { name: "rank-3 b under rank-4 a", aBatch: [2, 3], bBatch: [3], m: 3, k: 5, n: 4 },
];
// Broadcasting both ways: the stock cpu kernel indexes batches modulo their count and reads past b here.
const GENERAL_CASE: MatMulCase = { name: "[2,1] x [3] batches", aBatch: [2, 1], bBatch: [3], m: 3, k: 4, n: 2 };

function storedShapes(c: MatMulCase, transposeA: boolean, transposeB: boolean): { a: Shape; b: Shape } {
  return {
    a: [...c.aBatch, ...(transposeA ? [c.k, c.m] : [c.m, c.k])],
    b: [...c.bBatch, ...(transposeB ? [c.n, c.k] : [c.k, c.n])],
  };
}

const size = (shape: Shape) => shape.reduce((s, d) => s * d, 1);

/** Float64 op(A)·op(B) with numpy broadcasting of the batch dims, written independently of the code under test. */
function matMul64(
  a: ArrayLike<number>,
  aShape: Shape,
  b: ArrayLike<number>,
  bShape: Shape,
  transposeA: boolean,
  transposeB: boolean,
): { values: Float64Array; shape: Shape } {
  const [ar, ac] = aShape.slice(-2);
  const [br, bc] = bShape.slice(-2);
  const [m, k] = transposeA ? [ac, ar] : [ar, ac];
  const n = transposeB ? br : bc;
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  const rank = Math.max(aBatch.length, bBatch.length);
  const pad = (s: Shape) => [...Array(rank - s.length).fill(1), ...s];
  const pa = pad(aBatch);
  const pb = pad(bBatch);
  const outBatch = pa.map((d, i) => Math.max(d, pb[i]));
  const values = new Float64Array(size(outBatch) * m * n);
  for (let batch = 0; batch < size(outBatch); batch++) {
    // Decompose the output batch index, then clamp broadcast dims to 0 for each operand.
    let rest = batch;
    const index = new Array<number>(rank);
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis] = rest % outBatch[axis];
      rest = Math.floor(rest / outBatch[axis]);
    }
    const flat = (shape: Shape) => index.reduce((acc, i, axis) => acc * shape[axis] + (shape[axis] === 1 ? 0 : i), 0);
    const aBase = flat(pa) * m * k;
    const bBase = flat(pb) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          const av = a[aBase + (transposeA ? p * m + i : i * k + p)];
          const bv = b[bBase + (transposeB ? j * k + p : p * n + j)];
          sum += av * bv;
        }
        values[batch * m * n + i * n + j] = sum;
      }
    }
  }
  return { values, shape: [...outBatch, m, n] };
}

function maxAbsDiff(x: ArrayLike<number>, y: ArrayLike<number>): number {
  expect(x.length).toBe(y.length);
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  return worst;
}

/** referenceKernels with a count of sgemm calls, to see that a routed kernel really ran. */
function countingKernels(base: Kernels): Kernels & { sgemmCalls: number } {
  const counted = { ...base, sgemmCalls: 0 };
  counted.sgemm = (...args: Parameters<Kernels["sgemm"]>) => {
    counted.sgemmCalls++;
    base.sgemm(...args);
  };
  return counted;
}

interface MatMulRun {
  key: string;
  shape: Shape;
  values: Float32Array;
}

/** Every case × transpose pair through tf.matMul on the active backend. */
function runMatMuls(cases: MatMulCase[]): MatMulRun[] {
  const runs: MatMulRun[] = [];
  cases.forEach((c, caseIndex) => {
    for (const [transposeA, transposeB] of TRANSPOSES) {
      const shapes = storedShapes(c, transposeA, transposeB);
      const a = tf.tensor(randomArray(size(shapes.a), 100 + caseIndex), shapes.a);
      const b = tf.tensor(randomArray(size(shapes.b), 200 + caseIndex), shapes.b);
      const y = tf.matMul(a, b, transposeA, transposeB);
      runs.push({ key: `${c.name} tA=${transposeA} tB=${transposeB}`, shape: y.shape, values: y.dataSync() as Float32Array });
      tf.dispose([a, b, y]);
    }
  });
  return runs;
}

function expectedMatMuls(cases: MatMulCase[]): Map<string, { values: Float64Array; shape: Shape }> {
  const expected = new Map<string, { values: Float64Array; shape: Shape }>();
  cases.forEach((c, caseIndex) => {
    for (const [transposeA, transposeB] of TRANSPOSES) {
      const shapes = storedShapes(c, transposeA, transposeB);
      const a = randomArray(size(shapes.a), 100 + caseIndex);
      const b = randomArray(size(shapes.b), 200 + caseIndex);
      expected.set(`${c.name} tA=${transposeA} tB=${transposeB}`, matMul64(a, shapes.a, b, shapes.b, transposeA, transposeB));
    }
  });
  return expected;
}

const TOLERANCE = 1e-5;

afterAll(async () => {
  await initTfjs({ backend: "cpu", routeMatMul: false });
  await initTfjs({ backend: "wasm", routeMatMul: false });
});

describe("broadcastBatchOffsets", () => {
  it("maps each output batch to its a and b batches with numpy broadcasting", () => {
    // a batches [2, 1], b batches [3] → out [2, 3]; a advances along axis 0 only, b along axis 1 only.
    const offsets = broadcastBatchOffsets([2, 1], [3], [2, 3]);
    expect([...offsets.a]).toEqual([0, 0, 0, 1, 1, 1]);
    expect([...offsets.b]).toEqual([0, 1, 2, 0, 1, 2]);
    expect([...broadcastBatchOffsets([], [], []).a]).toEqual([0]);
  });
});

describe.each(["cpu", "wasm"] as const)("routed matmul on the %s backend", (backend) => {
  it("equals the stock kernel and float64 for every transpose combination and batch shape", async () => {
    const stockInit = await initTfjs({ backend, routeMatMul: false });
    expect(stockInit.matmulProvider).toBeNull();
    const stock = runMatMuls(STOCK_CASES);

    const counted = countingKernels(referenceKernels);
    const routedInit = await initTfjs({ backend, kernels: counted });
    expect(routedInit).toMatchObject({ backend, matmulProvider: "reference" });
    const routed = runMatMuls(STOCK_CASES);
    const expected = expectedMatMuls(STOCK_CASES);

    // One sgemm per output matrix.
    const matrices = [...expected.values()].reduce((sum, { shape }) => sum + size(shape.slice(0, -2)), 0);
    expect(counted.sgemmCalls).toBe(matrices);
    routed.forEach((run, i) => {
      expect(run.key).toBe(stock[i].key);
      expect(run.shape, run.key).toEqual(stock[i].shape);
      expect(run.shape, run.key).toEqual(expected.get(run.key)!.shape);
      expect(maxAbsDiff(run.values, stock[i].values), run.key).toBeLessThan(TOLERANCE);
      expect(maxAbsDiff(run.values, expected.get(run.key)!.values), run.key).toBeLessThan(TOLERANCE);
    });
  });

  it("broadcasts batch dims both ways ([2,1] against [3]) like numpy", async () => {
    await initTfjs({ backend, kernels: referenceKernels });
    const expected = expectedMatMuls([GENERAL_CASE]);
    for (const run of runMatMuls([GENERAL_CASE])) {
      expect(run.shape, run.key).toEqual([2, 3, GENERAL_CASE.m, GENERAL_CASE.n]);
      expect(maxAbsDiff(run.values, expected.get(run.key)!.values), run.key).toBeLessThan(TOLERANCE);
    }
  });

  it("routes _FusedMatMul (bias + relu), which tf.fused.matMul and tf.layers.dense reach", async () => {
    const x = tf.tensor(randomArray(6 * 8, 1), [6, 8]);
    const w = tf.tensor(randomArray(8 * 5, 2), [8, 5]);
    const bias = tf.tensor(randomArray(5, 3), [5]);
    const fused = () =>
      [false, true].map((transposeB) =>
        tf.fused.matMul({ a: x, b: transposeB ? tf.transpose(w) : w, transposeB, bias, activation: "relu" }).dataSync(),
      );
    // A dense layer applied outside a gradient tape fuses bias and activation into one _FusedMatMul.
    const layer = tf.layers.dense({ units: 5, activation: "relu", inputShape: [8] });
    layer.build([null, 8]);
    layer.setWeights([w, bias]);
    const dense = () => (layer.apply(x) as tf.Tensor).dataSync();

    await initTfjs({ backend, routeMatMul: false });
    const stockFused = fused();
    const stockDense = dense();
    const counted = countingKernels(referenceKernels);
    await initTfjs({ backend, kernels: counted });
    const routedFused = fused();
    expect(counted.sgemmCalls).toBe(2);
    const routedDense = dense();
    expect(counted.sgemmCalls).toBe(3);

    const product = matMul64(x.dataSync(), [6, 8], w.dataSync(), [8, 5], false, false).values;
    const biasValues = bias.dataSync();
    const expected = product.map((v, i) => Math.max(0, v + biasValues[i % 5]));
    routedFused.forEach((values, i) => expect(maxAbsDiff(values, expected), `transposeB=${i === 1}`).toBeLessThan(TOLERANCE));
    // Stock tfjs-wasm 4.22 adds the bias wrongly when transposeB is set, so stock is compared untransposed only.
    expect(maxAbsDiff(stockFused[0], expected)).toBeLessThan(TOLERANCE);
    expect(maxAbsDiff(routedDense, stockDense)).toBeLessThan(TOLERANCE);
    expect(Math.min(...routedDense)).toBe(0); // relu was applied
    tf.dispose([x, w, bias]);
  });

});

it("falls back to the stock kernel for int32 matmuls on the cpu backend", async () => {
  await initTfjs({ backend: "cpu", kernels: referenceKernels });
  const a = tf.tensor2d([1, 2, 3, 4], [2, 2], "int32");
  expect([...tf.matMul(a, a).dataSync()]).toEqual([7, 10, 15, 22]);
});

// ── Gradients ──────────────────────────────────────────────────────────────────────────────────────────────────────

/** f(A, B) = Σ W ⊙ (op(A)·op(B))², in float64. */
function loss64(
  a: ArrayLike<number>,
  aShape: Shape,
  b: ArrayLike<number>,
  bShape: Shape,
  weights: ArrayLike<number>,
  transposeA: boolean,
  transposeB: boolean,
): number {
  const { values } = matMul64(a, aShape, b, bShape, transposeA, transposeB);
  let total = 0;
  for (let i = 0; i < values.length; i++) total += weights[i] * values[i] * values[i];
  return total;
}

/** Central differences of loss64 with respect to every entry of A (which = "a") or B (which = "b"). */
function finiteDifferences(
  which: "a" | "b",
  a: Float32Array,
  aShape: Shape,
  b: Float32Array,
  bShape: Shape,
  weights: Float32Array,
  transposeA: boolean,
  transposeB: boolean,
): Float64Array {
  const h = 1e-3;
  const target = Float64Array.from(which === "a" ? a : b);
  const gradient = new Float64Array(target.length);
  const at = () =>
    which === "a"
      ? loss64(target, aShape, b, bShape, weights, transposeA, transposeB)
      : loss64(a, aShape, target, bShape, weights, transposeA, transposeB);
  for (let i = 0; i < target.length; i++) {
    const saved = target[i];
    target[i] = saved + h;
    const plus = at();
    target[i] = saved - h;
    const minus = at();
    target[i] = saved;
    gradient[i] = (plus - minus) / (2 * h); // exact up to rounding: the loss is quadratic in each entry
  }
  return gradient;
}

const GRADIENT_CASES: MatMulCase[] = [
  { name: "2-d", aBatch: [], bBatch: [], m: 3, k: 4, n: 2 },
  { name: "batched", aBatch: [2], bBatch: [2], m: 3, k: 4, n: 2 },
  { name: "rank-2 a broadcast over b's batch", aBatch: [], bBatch: [2], m: 3, k: 4, n: 2 },
];
// Broadcasting both ways: the stock kernels' forward is wrong here, so only routed runs take it.
const GENERAL_GRADIENT_CASE: MatMulCase = { name: "[2,1] x [3] batches", aBatch: [2, 1], bBatch: [3], m: 2, k: 3, n: 2 };

describe.each([
  { backend: "cpu", routed: true },
  { backend: "wasm", routed: true },
  { backend: "wasm", routed: false },
] as const)("matmul gradient on $backend (routed: $routed)", ({ backend, routed }) => {
  const cases = routed ? [...GRADIENT_CASES, GENERAL_GRADIENT_CASE] : GRADIENT_CASES;
  it.each(cases)("equals central finite differences in float64: $name", async (c) => {
    await initTfjs({ backend, kernels: referenceKernels, routeMatMul: routed });
    for (const [transposeA, transposeB] of TRANSPOSES) {
      const shapes = storedShapes(c, transposeA, transposeB);
      const a = randomArray(size(shapes.a), 11);
      const b = randomArray(size(shapes.b), 12);
      const outShape = matMul64(a, shapes.a, b, shapes.b, transposeA, transposeB).shape;
      const weights = randomArray(size(outShape), 13);
      const w = tf.tensor(weights, outShape);
      const [da, db] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(w, tf.square(tf.matMul(x, y, transposeA, transposeB)))))([
        tf.tensor(a, shapes.a),
        tf.tensor(b, shapes.b),
      ]);
      const label = `${c.name} tA=${transposeA} tB=${transposeB}`;
      expect(da.shape, label).toEqual(shapes.a);
      expect(db.shape, label).toEqual(shapes.b);
      const fdA = finiteDifferences("a", a, shapes.a, b, shapes.b, weights, transposeA, transposeB);
      const fdB = finiteDifferences("b", a, shapes.a, b, shapes.b, weights, transposeA, transposeB);
      expect(maxAbsDiff(da.dataSync(), fdA), label).toBeLessThan(1e-4);
      expect(maxAbsDiff(db.dataSync(), fdB), label).toBeLessThan(1e-4);
      tf.dispose([w, da, db]);
    }
  });

  it("equals the stock gradient formula where the stock one works (no broadcasting)", async () => {
    await initTfjs({ backend, kernels: referenceKernels, routeMatMul: routed });
    for (const c of GRADIENT_CASES.slice(0, 2)) {
      for (const [transposeA, transposeB] of TRANSPOSES) {
        const shapes = storedShapes(c, transposeA, transposeB);
        const a = tf.tensor(randomArray(size(shapes.a), 21), shapes.a);
        const b = tf.tensor(randomArray(size(shapes.b), 22), shapes.b);
        const y = tf.matMul(a, b, transposeA, transposeB);
        const dy = tf.tensor(randomArray(size(y.shape), 23), y.shape);
        const [ours_a, ours_b] = tf.grads((x: tf.Tensor, z: tf.Tensor) => tf.matMul(x, z, transposeA, transposeB))([a, b], dy);
        const stock = stockGradient.gradFunc(dy, [a, b], { transposeA, transposeB });
        const label = `${c.name} tA=${transposeA} tB=${transposeB}`;
        expect(maxAbsDiff(ours_a.dataSync(), stock.a().dataSync()), label).toBeLessThan(TOLERANCE);
        expect(maxAbsDiff(ours_b.dataSync(), stock.b().dataSync()), label).toBeLessThan(TOLERANCE);
      }
    }
  });
});

describe.each(["cpu", "wasm"] as const)("fused matmul gradient on the routed %s backend", (backend) => {
  it("equals the closed form: dX = W·wᵀ, dw = Xᵀ·W, dbias = column sums of W", async () => {
    // Under a tape, a linear dense layer still runs _FusedMatMul; its customGrad backward runs transposed BatchMatMuls.
    await initTfjs({ backend, kernels: referenceKernels });
    const [rows, inner, cols] = [5, 4, 3];
    const x = randomArray(rows * inner, 41);
    const w = randomArray(inner * cols, 42);
    const weights = randomArray(rows * cols, 43);
    const bias = tf.tensor(randomArray(cols, 44), [cols]);
    const loss = (xt: tf.Tensor, wt: tf.Tensor, bt: tf.Tensor) =>
      tf.sum(tf.mul(tf.tensor(weights, [rows, cols]), tf.fused.matMul({ a: xt, b: wt, bias: bt, activation: "linear" })));
    const [dx, dw, dbias] = tf.grads(loss)([tf.tensor(x, [rows, inner]), tf.tensor(w, [inner, cols]), bias]);
    expect(maxAbsDiff(dx.dataSync(), matMul64(weights, [rows, cols], w, [inner, cols], false, true).values)).toBeLessThan(TOLERANCE);
    expect(maxAbsDiff(dw.dataSync(), matMul64(x, [rows, inner], weights, [rows, cols], true, false).values)).toBeLessThan(TOLERANCE);
    const columnSums = Array.from({ length: cols }, (_, j) => weights.reduce((s, v, i) => (i % cols === j ? s + v : s), 0));
    expect(maxAbsDiff(dbias.dataSync(), columnSums)).toBeLessThan(TOLERANCE);
  });
});

it("the stock gradient fails on broadcast batch dims, which ours sums over", async () => {
  await initTfjs({ backend: "cpu", kernels: referenceKernels });
  const a = tf.tensor(randomArray(3 * 4, 31), [3, 4]);
  const b = tf.tensor(randomArray(2 * 4 * 5, 32), [2, 4, 5]);
  const dy = tf.ones([2, 3, 5]);
  expect(stockGradient.gradFunc(dy, [a, b], { transposeA: false, transposeB: false }).a().shape).toEqual([2, 3, 4]);
  const [da] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y))([a, b], dy);
  expect(da.shape).toEqual([3, 4]);
});

// ── Backend choice ─────────────────────────────────────────────────────────────────────────────────────────────────

describe("backend choice", () => {
  it.runIf(resolveTfjsNode() === undefined)("chooses wasm when tfjs-node is not installed, saying why", async () => {
    const runtime = await initTfjs({ routeMatMul: false });
    expect(runtime.backend).toBe("wasm");
    expect(runtime.tf.getBackend()).toBe("wasm");
    expect(runtime.skipped).toEqual([{ backend: "tensorflow", reason: expect.stringContaining("@tensorflow/tfjs-node") }]);
  });

  it.runIf(resolveTfjsNode() !== undefined)("prefers the tensorflow backend when tfjs-node is installed", async () => {
    const runtime = await initTfjs();
    expect(runtime).toMatchObject({ backend: "tensorflow", matmulProvider: null });
  });

  it.runIf(resolveTfjsNode() === undefined)("rejects an explicit tensorflow backend with a clear error", async () => {
    const attempt = initTfjs({ backend: "tensorflow" });
    await expect(attempt).rejects.toThrow(TfjsBackendUnavailableError);
    await expect(attempt).rejects.toThrow(/tfjs backend "tensorflow" is unavailable: neither @tensorflow\/tfjs-node/);
  });

  it("is safe to call twice at once, and a later call may switch backend", async () => {
    const [first, second] = await Promise.all([
      initTfjs({ backend: "wasm", routeMatMul: false }),
      initTfjs({ backend: "wasm", routeMatMul: false }),
    ]);
    expect(first.backend).toBe("wasm");
    expect(second.backend).toBe("wasm");
    const third = await initTfjs({ backend: "cpu", kernels: referenceKernels });
    expect(third).toMatchObject({ backend: "cpu", matmulProvider: "reference" });
    expect(tf.getBackend()).toBe("cpu");
    expect(currentTfjsRuntime()).toBe(third);
  });
});

// ── The best provider compute/select.ts loads here ──────────────────────────────────────────────────────────────────

const best = await selectedKernels().then(
  (selection) => selection.kernels,
  (error: Error) => {
    console.warn(`compute/select.ts could not load a provider, skipping best-provider tests: ${error.message}`);
    return undefined;
  },
);

describe.runIf(best !== undefined && best.name !== "reference")(`routed matmul on the best provider (${best?.name})`, () => {
  it.each(["cpu", "wasm"] as const)("equals float64 on the %s backend, chosen by default", async (backend) => {
    const runtime = await initTfjs({ backend });
    expect(runtime.matmulProvider).toBe(best!.name);
    const expected = expectedMatMuls([...STOCK_CASES, GENERAL_CASE]);
    for (const run of runMatMuls([...STOCK_CASES, GENERAL_CASE])) {
      expect(maxAbsDiff(run.values, expected.get(run.key)!.values), run.key).toBeLessThan(TOLERANCE);
    }
  });
});
