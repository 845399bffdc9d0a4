import { describe, expect, it } from "vitest";
import { featureLevels, FiringSample, THRESHOLD_STEPS, thresholdValue } from "../../../boards/metrics/thresholds.js";

describe("FiringSample (spec board-metrics.md §3)", () => {
  it("marks features alive when non-zero once and keeps |max|", () => {
    // 5 features over 3 rows: f0 positive, f1 dead, f2 all negative (an MLP neuron), f3 one negative value, f4 max 0.25
    const acts = Float32Array.of(
      0.5, 0, -0.2, 0, 0.25,
      2.0, 0, -0.1, -3, 0,
      1.5, 0, -0.4, 0, 0.125,
    );
    const sample = new FiringSample(5);
    sample.add(acts.subarray(0, 10), 2);
    sample.add(acts.subarray(10), 1);
    const thresholds = sample.finish();
    expect(Array.from(thresholds.alive)).toEqual([0, 2, 3, 4]);
    expect(Array.from(thresholds.aliveIndex)).toEqual([0, -1, 1, 2, 3]);
    // f2: max = −0.1 → 0.1 (float32); f3: max = 0 (the zeros count) → 0
    expect(Array.from(thresholds.maxActivation)).toEqual([2, 0, Math.fround(0.1), 0, 0.25]);
    expect(() => sample.add(acts, 3)).toThrow(/finished/);
  });
});

describe("thresholdValue (spec §4)", () => {
  it("rounds k·0.1 and the product to float32 like torch's arange(0, 1.1, 0.1)·max", () => {
    const max = Math.fround(0.7);
    // values worked with numpy float32: float32(float32(k·0.1)·float32(0.7))
    expect(thresholdValue(0, max)).toBe(0);
    expect(thresholdValue(3, max)).toBe(0.21000000834465027); // float64 0.3·0.7f would be 0.2099999964
    expect(thresholdValue(7, max)).toBe(0.4899999797344208); // float64: 0.4899999917
    expect(thresholdValue(10, max)).toBe(max);
  });
});

describe("featureLevels (spec §4, §5)", () => {
  const sample = new FiringSample(3);
  // f0 max 0.7, f1 dead, f2 max 1
  sample.add(Float32Array.of(0.7, 0, 1), 1);
  const thresholds = sample.finish();

  it("is strict: a value equal to τ_k is off at k", () => {
    const tau3 = 0.21000000834465027; // τ_3 of max 0.7 (above)
    const aboveTau3 = 0.2100000232458114; // next float32 up
    const acts = Float32Array.of(
      tau3, 5, 0, // f0 exactly τ_3 → on up to k = 2; f1 is dead and never listed
      aboveTau3, 0, 1, // f0 on up to 3; f2 exactly its max = τ_10 → level 9
      0.7, 0, 1.0000001, // f0 at its max → 9; f2 above the firing max → 10
      0, 0, -1, // nothing on (a ≤ τ_0 = 0)
    );
    const levels = featureLevels(acts, 4, thresholds);
    expect(levels.rows).toBe(4);
    expect(Array.from(levels.offsets)).toEqual([0, 1, 3, 5, 5]);
    expect(Array.from(levels.features)).toEqual([0, 0, 1, 0, 1]);
    expect(Array.from(levels.levels)).toEqual([2, 3, 9, 9, 10]);
  });

  it("gives the level a plain per-threshold loop gives", () => {
    const max = Math.fround(0.7);
    for (let i = 0; i <= 800; i++) {
      const value = Math.fround(i / 1000);
      let expected = -1;
      for (let k = 0; k < THRESHOLD_STEPS; k++) if (value > Math.fround(Math.fround(k * 0.1) * max)) expected = k;
      const levels = featureLevels(Float32Array.of(value, 0, 0), 1, thresholds);
      if (expected < 0) expect(levels.features.length).toBe(0);
      else expect(Array.from(levels.levels)).toEqual([expected]);
    }
  });

  it("never turns on a feature whose firing-sample maximum was negative", () => {
    const negative = new FiringSample(1);
    negative.add(Float32Array.of(-0.5, -0.3), 2);
    const t = negative.finish();
    expect(t.maxActivation[0]).toBe(Math.fround(0.3));
    expect(featureLevels(Float32Array.of(-0.3, -0.01, 0), 3, t).features.length).toBe(0);
  });
});
