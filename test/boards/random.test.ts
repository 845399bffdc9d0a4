import { describe, expect, it } from "vitest";
import { randomBelow, xoshiro128 } from "../../boards/random.js";

describe("xoshiro128", () => {
  it("repeats a stream for the same seed and differs for neighbouring seeds", () => {
    const draw = (high: number, low: number) => Array.from({ length: 8 }, xoshiro128(high, low));
    expect(draw(1, 2)).toEqual(draw(1, 2));
    expect(draw(1, 2)).not.toEqual(draw(1, 3));
    expect(draw(1, 2)).not.toEqual(draw(2, 2));
    expect(draw(0, 0).every((value) => Number.isInteger(value) && value >= 0 && value < 2 ** 32)).toBe(true);
  });

  it("rejects seeds outside uint32", () => {
    expect(() => xoshiro128(-1, 0)).toThrow(/seedHigh must be an integer in \[0, 2\^32\), got -1/);
    expect(() => xoshiro128(0, 2 ** 32)).toThrow(/seedLow/);
  });

  it("draws each of n values about equally often", () => {
    const random = xoshiro128(7, 7);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[randomBelow(random, 6)]++;
    for (const count of counts) expect(Math.abs(count - 10_000)).toBeLessThan(500); // ≈ 5σ
    expect(() => randomBelow(random, 0)).toThrow(/n must be an integer/);
  });
});
