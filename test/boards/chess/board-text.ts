// Test helper: a hand-written board (8 rank strings, rank 8 first, FEN letters, '.' empty) as piece values by square id.

const VALUES: Record<string, number> = { P: 1, N: 2, B: 3, R: 4, Q: 5, K: 6, p: -1, n: -2, b: -3, r: -4, q: -5, k: -6, ".": 0 };

export function boardFromRanks(ranks: readonly string[]): Int8Array {
  if (ranks.length !== 8 || ranks.some((rank) => rank.length !== 8)) throw new RangeError("boardFromRanks: 8 ranks of 8 squares");
  const board = new Int8Array(64);
  ranks.forEach((rank, r) => {
    for (let file = 0; file < 8; file++) board[(7 - r) * 8 + file] = VALUES[rank[file]];
  });
  return board;
}
