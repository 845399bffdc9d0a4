// Othello squares (spec boards.md §1.1): id = row·8 + col, name = row letter a..h + column digit 1..8 (Li et al.).

export const BOARD_SIZE = 8;
export const SQUARE_COUNT = 64;

/** The four centre squares, occupied from the start and therefore never played. */
export const CENTER_SQUARES: readonly number[] = [27, 28, 35, 36];

/** Start position (spec §1.1): d4, e5 white; d5, e4 black. */
export const START_WHITE_SQUARES: readonly number[] = [27, 36];
export const START_BLACK_SQUARES: readonly number[] = [28, 35];

const ROW_LETTERS = "abcdefgh";

export function assertSquare(square: number, what = "square"): void {
  if (!Number.isInteger(square) || square < 0 || square >= SQUARE_COUNT) {
    throw new RangeError(`${what} must be an integer in [0, 63], got ${square}`);
  }
}

export function squareRow(square: number): number {
  return square >> 3;
}

export function squareColumn(square: number): number {
  return square & 7;
}

/** 0 → "a1", 7 → "a8", 8 → "b1", 63 → "h8". */
export function squareName(square: number): string {
  assertSquare(square);
  return ROW_LETTERS[square >> 3] + String((square & 7) + 1);
}

/** Inverse of squareName; accepts upper or lower case. */
export function parseSquare(name: string): number {
  const match = /^([a-h])([1-8])$/.exec(name.toLowerCase());
  if (!match) throw new RangeError(`square name must be a row letter a-h and a column digit 1-8, got "${name}"`);
  return ROW_LETTERS.indexOf(match[1]) * BOARD_SIZE + Number(match[2]) - 1;
}

/** Canonical transcript text: square names in play order separated by single spaces ("f5 d6 c3"); spec §4 hashes it. */
export function formatOthelloMoves(moves: ArrayLike<number>): string {
  let text = "";
  for (let i = 0; i < moves.length; i++) text += (i === 0 ? "" : " ") + (SQUARE_NAMES[moves[i]] ?? squareName(moves[i]));
  return text;
}

/** Names by id: the canonical text is hashed once per generated game, so skip per-call validation. */
const SQUARE_NAMES: readonly string[] = Array.from({ length: SQUARE_COUNT }, (_, square) => squareName(square));

/** Inverse of formatOthelloMoves; any whitespace separates names. */
export function parseOthelloMoves(text: string): Uint8Array {
  const names = text.trim().split(/\s+/).filter((name) => name.length > 0);
  return Uint8Array.from(names, parseSquare);
}
