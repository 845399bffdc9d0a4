// Perft: leaf count of the full game tree to a depth (spec boards.md §1.3), the engine's acceptance test.

import { flipsInto, legalMovesInto, popcount } from "./bitboard.js";

/** One pair of scratch slots per ply, so recursion never allocates. */
const MAX_DEPTH = 64;
const moveScratch = new Int32Array(2 * MAX_DEPTH);
const flipScratch = new Int32Array(2);

/**
 * Leaves at `depth` below the start position. A pass counts as one ply whenever the side to move has no legal
 * move and the opponent has one; a position where neither side can move has no children (spec §1.3 convention).
 */
export function othelloPerft(depth: number): number {
  if (!Number.isInteger(depth) || depth < 0 || depth >= MAX_DEPTH) {
    throw new RangeError(`perft depth must be an integer in [0, ${MAX_DEPTH - 1}], got ${depth}`);
  }
  // Black (to move) on d5, e4; white on d4, e5.
  return perftFrom(1 << 28, 1 << 3, 1 << 27, 1 << 4, depth);
}

function perftFrom(pl: number, ph: number, ol: number, oh: number, depth: number): number {
  if (depth === 0) return 1;
  const slot = new Int32Array(moveScratch.buffer, depth * 8, 2);
  legalMovesInto(pl, ph, ol, oh, slot);
  let movesLo = slot[0];
  let movesHi = slot[1];
  if ((movesLo | movesHi) === 0) {
    legalMovesInto(ol, oh, pl, ph, slot);
    if ((slot[0] | slot[1]) === 0) return 0; // game over: no children
    return perftFrom(ol, oh, pl, ph, depth - 1); // the pass is one ply
  }
  if (depth === 1) return popcount(movesLo, movesHi);
  let leaves = 0;
  for (; movesLo !== 0; movesLo &= movesLo - 1) {
    const square = 31 - Math.clz32(movesLo & -movesLo);
    flipsInto(pl, ph, ol, oh, square, flipScratch);
    const flipLo = flipScratch[0];
    const flipHi = flipScratch[1];
    leaves += perftFrom(ol & ~flipLo, oh & ~flipHi, pl | flipLo | (1 << square), ph | flipHi, depth - 1);
  }
  for (; movesHi !== 0; movesHi &= movesHi - 1) {
    const square = 63 - Math.clz32(movesHi & -movesHi);
    flipsInto(pl, ph, ol, oh, square, flipScratch);
    const flipLo = flipScratch[0];
    const flipHi = flipScratch[1];
    leaves += perftFrom(ol & ~flipLo, oh & ~flipHi, pl | flipLo, ph | flipHi | (1 << (square - 32)), depth - 1);
  }
  return leaves;
}
