// Chess piece values and BSP classes (spec boards.md §3.4): v = pawn 1 … king 6, negative for Black, 0 empty;
// class index = v + 6.

import type { Chess, Color, PieceSymbol } from "chess.js";

/** Board of piece values v (−6..6) indexed by square id (rank·8 + file). */
export type ChessBoardValues = Int8Array;

export const CHESS_PIECE_CLASSES = 13;
/** Class index of an empty square (v = 0). */
export const EMPTY_CLASS = 6;

/** Class names in class order (index = v + 6), as BSP names spell them. */
export const PIECE_CLASS_NAMES: readonly string[] = [
  "black_king",
  "black_queen",
  "black_rook",
  "black_bishop",
  "black_knight",
  "black_pawn",
  "empty",
  "white_pawn",
  "white_knight",
  "white_bishop",
  "white_rook",
  "white_queen",
  "white_king",
];

const PIECE_VALUES: Record<PieceSymbol, number> = { p: 1, n: 2, b: 3, r: 4, q: 5, k: 6 };

/** v of a chess.js piece. */
export function pieceValue(type: PieceSymbol, color: Color): number {
  return color === "w" ? PIECE_VALUES[type] : -PIECE_VALUES[type];
}

/** The position of a chess.js game as piece values by square id. */
export function boardValues(chess: Chess): ChessBoardValues {
  const values = new Int8Array(64);
  const ranks = chess.board(); // ranks[0] is rank 8
  for (let r = 0; r < 8; r++) {
    const rank = ranks[r];
    const base = (7 - r) * 8;
    for (let file = 0; file < 8; file++) {
      const piece = rank[file];
      if (piece !== null) values[base + file] = pieceValue(piece.type, piece.color);
    }
  }
  return values;
}

/** The initial position's piece values (spec §3.4 piece_masked compares against it). */
export const INITIAL_BOARD_VALUES: ChessBoardValues = Int8Array.from({ length: 64 }, (_, square) => {
  const back = [4, 2, 3, 5, 6, 3, 2, 4]; // R N B Q K B N R
  const rank = square >> 3;
  const file = square & 7;
  if (rank === 0) return back[file];
  if (rank === 1) return 1;
  if (rank === 6) return -1;
  if (rank === 7) return -back[file];
  return 0;
});
