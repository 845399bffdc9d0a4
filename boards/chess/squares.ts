// Chess squares (spec boards.md §3.4): id = rank·8 + file (a1 = 0, h1 = 7, a8 = 56, h8 = 63),
// name = file letter a..h + rank digit 1..8 as in ordinary chess notation.

export const CHESS_SQUARE_COUNT = 64;

const FILE_LETTERS = "abcdefgh";

/** Square names by id, so hot paths (BSP names, chess.js board reads) skip validation. */
export const CHESS_SQUARE_NAMES: readonly string[] = Array.from(
  { length: CHESS_SQUARE_COUNT },
  (_, square) => FILE_LETTERS[square & 7] + String((square >> 3) + 1),
);

export function assertChessSquare(square: number, what = "square"): void {
  if (!Number.isInteger(square) || square < 0 || square >= CHESS_SQUARE_COUNT) {
    throw new RangeError(`${what} must be an integer in [0, 63], got ${square}`);
  }
}

/** 0 → "a1", 7 → "h1", 8 → "a2", 63 → "h8". */
export function chessSquareName(square: number): string {
  assertChessSquare(square);
  return CHESS_SQUARE_NAMES[square];
}

/** Inverse of chessSquareName; accepts upper or lower case. */
export function parseChessSquare(name: string): number {
  const match = /^([a-h])([1-8])$/.exec(name.toLowerCase());
  if (!match) throw new RangeError(`chess square name must be a file letter a-h and a rank digit 1-8, got "${name}"`);
  return (Number(match[2]) - 1) * 8 + FILE_LETTERS.indexOf(match[1]);
}
