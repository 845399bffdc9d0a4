// Split assignment by content hash (spec boards.md §4): identical games always land in the same split.

import { createHash } from "node:crypto";
import { z } from "zod";

export type Split = "train" | "val" | "test";
export const SPLITS: readonly Split[] = ["train", "val", "test"];

/** Fractions of games per split; test receives the rest. */
export const splitFractionsSchema = z
  .object({
    train: z.number().min(0).max(1).default(0.98),
    val: z.number().min(0).max(1).default(0.01),
  })
  .refine((fractions) => fractions.train + fractions.val <= 1, {
    message: "split fractions: train + val must be at most 1 (test receives the rest)",
  });
export type SplitFractions = z.output<typeof splitFractionsSchema>;
export const DEFAULT_SPLIT_FRACTIONS: SplitFractions = { train: 0.98, val: 0.01 };

/** u = first 8 bytes of SHA-256(canonical moves) / 2^64; train if u < train, val if u < train + val, else test. */
export function splitOf(canonicalMoves: string, fractions: SplitFractions = DEFAULT_SPLIT_FRACTIONS): Split {
  const digest = createHash("sha256").update(canonicalMoves).digest();
  const u = (digest.readUInt32BE(0) * 0x100000000 + digest.readUInt32BE(4)) / 2 ** 64;
  if (u < fractions.train) return "train";
  if (u < fractions.train + fractions.val) return "val";
  return "test";
}
