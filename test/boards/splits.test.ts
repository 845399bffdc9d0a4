import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { splitFractionsSchema, splitOf } from "../../boards/splits.js";

describe("splitOf (spec boards.md §4)", () => {
  it("follows the first 8 bytes of SHA-256 of the canonical moves", () => {
    for (let i = 0; i < 500; i++) {
      const text = `game ${i}`;
      const u = Number(createHash("sha256").update(text).digest().readBigUInt64BE(0)) / 2 ** 64;
      expect(splitOf(text, { train: 0.5, val: 0.25 })).toBe(u < 0.5 ? "train" : u < 0.75 ? "val" : "test");
    }
  });

  it("uses 98/1/1 by default", () => {
    const counts = { train: 0, val: 0, test: 0 };
    for (let i = 0; i < 20_000; i++) counts[splitOf(`g${i}`)]++;
    expect(counts.train / 20_000).toBeCloseTo(0.98, 2);
    expect(counts.val).toBeGreaterThan(120);
    expect(counts.test).toBeGreaterThan(120);
  });

  it("rejects fractions above 1 in total", () => {
    expect(() => splitFractionsSchema.parse({ train: 0.9, val: 0.2 })).toThrow(/at most 1/);
    expect(splitFractionsSchema.parse({})).toEqual({ train: 0.98, val: 0.01 });
  });
});
