// The kernels initTfjs routes besides matmul: SaecGelu and its gradient, Sum over leading axes, wasm's Identity,
// and the BatchMatMul gradient taking transpose flags where matmuls are routed. Each is held against the stock tfjs
// computation (routing off) and against float64 arithmetic written here.

import * as tf from "@tensorflow/tfjs";
import { afterAll, describe, expect, it } from "vitest";
import type { GeluKind, Kernels } from "../../compute/kernels.js";
import { geluDerivative, geluScalar, referenceKernels } from "../../compute/reference.js";
import { initTfjs } from "../../compute/tfjs.js";
import { fusedGelu, GELU_KERNEL, leadingReductionAxes } from "../../compute/tfjs-fused-kernels.js";
import { gelu } from "../../model/gpt.js";
import { randomArray } from "./random.js";

const BACKENDS = ["cpu", "wasm"] as const;
const KINDS: GeluKind[] = ["gelu", "gelu_new"];

afterAll(async () => {
  await initTfjs({ backend: "cpu", routeMatMul: false });
  await initTfjs({ backend: "wasm", routeMatMul: false });
});

function maxAbsDiff(x: ArrayLike<number>, y: ArrayLike<number>): number {
  expect(x.length).toBe(y.length);
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  return worst;
}

/** Counts calls of the kernels the fused routes use. */
function countingKernels(base: Kernels): Kernels & { calls: Record<string, number> } {
  const calls: Record<string, number> = { gelu: 0, geluBackward: 0, columnSums: 0 };
  return {
    ...base,
    calls,
    gelu: (...args) => (calls.gelu++, base.gelu(...args)),
    geluBackward: (...args) => (calls.geluBackward++, base.geluBackward(...args)),
    columnSums: (...args) => (calls.columnSums++, base.columnSums(...args)),
  };
}

describe("leadingReductionAxes", () => {
  it("counts the leading axes a reduction removes, or refuses any other set", () => {
    expect(leadingReductionAxes([0, 1], 3)).toBe(2);
    expect(leadingReductionAxes([1, 0, 1], 3)).toBe(2); // order and repeats do not matter
    expect(leadingReductionAxes([-3], 3)).toBe(1); // negative axes count from the end
    expect(leadingReductionAxes(0, 2)).toBe(1);
    expect(leadingReductionAxes(null, 4)).toBe(4); // null: every axis
    expect(leadingReductionAxes([1], 3)).toBeUndefined();
    expect(leadingReductionAxes([0, 2], 3)).toBeUndefined();
    expect(leadingReductionAxes([], 3)).toBeUndefined();
  });
});

describe.each(BACKENDS)("fused GELU on the %s backend", (backend) => {
  const shape = [3, 5, 7];
  const values = randomArray(3 * 5 * 7, 31, 5); // both tails and the region around 0
  const upstream = randomArray(values.length, 32);

  it("is not used where routing is off, and then the composite runs", async () => {
    await initTfjs({ backend, routeMatMul: false });
    const x = tf.tensor(values, shape);
    expect(fusedGelu(tf, x, "gelu")).toBeUndefined();
    expect(tf.getKernel(GELU_KERNEL, backend)).toBeUndefined();
    x.dispose();
  });

  it.each(KINDS)("%s: forward and gradient equal the stock composite and float64, in one kernel call each", async (kind) => {
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor(values, shape);
        const dy = tf.tensor(upstream, shape);
        const y = gelu(tf, x, kind);
        const dx = tf.grad((input: tf.Tensor) => gelu(tf, input, kind).mul(dy).sum())(x);
        return { y: y.dataSync() as Float32Array, dx: dx.dataSync() as Float32Array };
      });
    await initTfjs({ backend, routeMatMul: false });
    const stock = run();
    const counted = countingKernels(referenceKernels);
    await initTfjs({ backend, kernels: counted });
    const before = tf.memory().numTensors;
    const fused = run();
    expect(tf.memory().numTensors).toBe(before);
    expect(counted.calls.gelu).toBe(2); // the forward above and the forward inside tf.grad
    expect(counted.calls.geluBackward).toBe(1);

    const expectedY = Array.from(values, (v) => geluScalar(v, kind));
    const expectedDx = Array.from(values, (v, i) => upstream[i] * geluDerivative(v, kind));
    expect(maxAbsDiff(fused.y, expectedY)).toBeLessThan(1e-5);
    expect(maxAbsDiff(fused.dx, expectedDx)).toBeLessThan(1e-5);
    expect(maxAbsDiff(fused.y, stock.y)).toBeLessThan(1e-5);
    expect(maxAbsDiff(fused.dx, stock.dx)).toBeLessThan(1e-5);
  });

  it("gradient equals central finite differences of the fused forward's float64 formula", async () => {
    await initTfjs({ backend, kernels: referenceKernels });
    const x = tf.tensor(values, shape);
    const dx = tf.grad((input: tf.Tensor) => gelu(tf, input, "gelu").square().sum())(x).dataSync();
    const h = 1e-4;
    const loss = (v: number) => geluScalar(v, "gelu") ** 2;
    values.forEach((v, i) => expect(Math.abs(dx[i] - (loss(v + h) - loss(v - h)) / (2 * h)), `x = ${v}`).toBeLessThan(1e-3 * Math.max(1, Math.abs(dx[i]))));
    x.dispose();
  });
});

describe.each(BACKENDS)("Sum over leading axes on the %s backend", (backend) => {
  const shape = [4, 3, 5];
  const values = randomArray(4 * 3 * 5, 41);
  /** Σ over the axes in `axes` of `values` [4, 3, 5], in float64, as a flat array in the kept axes' order. */
  const sum64 = (axes: number[]): number[] => {
    const kept = [0, 1, 2].filter((a) => !axes.includes(a));
    const keptShape = kept.map((a) => shape[a]);
    const out = new Array<number>(keptShape.reduce((s, d) => s * d, 1)).fill(0);
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 3; j++) {
        for (let k = 0; k < 5; k++) {
          const index = [i, j, k];
          const at = kept.reduce((flat, a, n) => flat * keptShape[n] + index[a], 0);
          out[at] += values[(i * 3 + j) * 5 + k];
        }
      }
    }
    return out;
  };
  const cases: { axis: number | number[] | undefined; axes: number[]; routed: boolean }[] = [
    { axis: 0, axes: [0], routed: true },
    { axis: [0, 1], axes: [0, 1], routed: true },
    { axis: [-2, -3], axes: [0, 1], routed: true },
    { axis: undefined, axes: [0, 1, 2], routed: true },
    { axis: 1, axes: [1], routed: false },
    { axis: [0, 2], axes: [0, 2], routed: false },
    { axis: -1, axes: [2], routed: false },
  ];

  it.each(cases)("axis $axis: equals float64 and the stock kernel, on columnSums only for leading axes", async ({ axis, axes, routed }) => {
    for (const keepDims of [false, true]) {
      const x = tf.tensor(values, shape);
      await initTfjs({ backend, routeMatMul: false });
      const stock = tf.sum(x, axis, keepDims);
      const counted = countingKernels(referenceKernels);
      await initTfjs({ backend, kernels: counted });
      const fused = tf.sum(x, axis, keepDims);
      expect(counted.calls.columnSums).toBe(routed ? 1 : 0);
      expect(fused.shape).toEqual(stock.shape);
      expect(fused.shape).toEqual(keepDims ? shape.map((d, a) => (axes.includes(a) ? 1 : d)) : shape.filter((_, a) => !axes.includes(a)));
      expect(maxAbsDiff(fused.dataSync(), sum64(axes))).toBeLessThan(1e-5);
      expect(maxAbsDiff(fused.dataSync(), stock.dataSync())).toBeLessThan(1e-5);
      tf.dispose([x, stock, fused]);
    }
  });

  it("leaves integer sums to the stock kernel (exact)", async () => {
    const counted = countingKernels(referenceKernels);
    await initTfjs({ backend, kernels: counted });
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], "int32");
    const summed = tf.sum(x, 0);
    expect(summed.dtype).toBe("int32");
    expect([...summed.dataSync()]).toEqual([9, 12]);
    expect(counted.calls.columnSums).toBe(0);
    tf.dispose([x, summed]);
  });
});

describe("Identity on the routed wasm backend", () => {
  it("shares the data: a clone outlives its source, allocates nothing, and leaks nothing", async () => {
    await initTfjs({ backend: "wasm", kernels: referenceKernels });
    const before = tf.memory();
    const x = tf.tensor([1.5, -2, 3.25], [3]);
    const buffersWithX = tf.memory().numDataBuffers;
    const copy = tf.clone(x);
    expect(tf.memory().numDataBuffers).toBe(buffersWithX); // no second buffer
    x.dispose();
    expect([...copy.dataSync()]).toEqual([1.5, -2, 3.25]);
    copy.dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numDataBuffers).toBe(before.numDataBuffers);
  });

  it("copies where routing is off (the stock kernel)", async () => {
    await initTfjs({ backend: "wasm", routeMatMul: false });
    const x = tf.tensor([1, 2], [2]);
    const buffersWithX = tf.memory().numDataBuffers;
    const copy = tf.clone(x);
    expect(tf.memory().numDataBuffers).toBe(buffersWithX + 1);
    tf.dispose([x, copy]);
  });
});

describe.each(BACKENDS)("matmul gradient on the routed %s backend", (backend) => {
  it("takes transpose flags: the backward pass makes no transposed copies", async () => {
    await initTfjs({ backend, kernels: referenceKernels });
    const a = tf.tensor(randomArray(6 * 4, 51), [6, 4]);
    const b = tf.tensor(randomArray(4 * 3, 52), [4, 3]);
    const profile = await tf.profile(() => {
      const grads = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y).sum())([a, b]);
      tf.dispose(grads);
    });
    const names = profile.kernels.map((k) => k.name);
    expect(names.filter((n) => n === "BatchMatMul")).toHaveLength(3); // forward, dA, dB
    expect(names).not.toContain("Transpose");
    tf.dispose([a, b]);
  });
});
