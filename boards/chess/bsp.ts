// Chess board functions (spec boards.md §3.4): piece, piece_masked_blank, piece_masked (paper metric) and color,
// on the layout row = rank index, col = file, square id = rank·8 + file, piece class = v + 6.

import { bspWidth, type BspFunction, type BspTable } from "../bsp.js";
import { chessCharBoards, type ChessCharBoards } from "./char-boards.js";
import { CHESS_PIECE_CLASSES, EMPTY_CLASS, INITIAL_BOARD_VALUES, PIECE_CLASS_NAMES, type ChessBoardValues } from "./pieces.js";
import { CHESS_SQUARE_NAMES } from "./squares.js";

const squareOf = (row: number, col: number): string => CHESS_SQUARE_NAMES[row * 8 + col];

function pieceFunction(id: string, maskedClasses: readonly number[]): BspFunction {
  return {
    id,
    game: "chess",
    rows: 8,
    classes: CHESS_PIECE_CLASSES,
    maskedClasses,
    entryName: (row, col, cls) => `chess.piece.${PIECE_CLASS_NAMES[cls]}.${squareOf(row, col)}`,
  };
}

/** One-hot piece state, no mask: 832 entries, 800 can be positive (pawns never on ranks 1 and 8). */
export const chessPiece = pieceFunction("piece", []);
/** `piece` with the empty class masked. */
export const chessPieceMaskedBlank = pieceFunction("piece_masked_blank", [EMPTY_CLASS]);
/** Paper metric: a piece standing on its initial square counts as blank, then the empty class is masked. */
export const chessPieceMasked = pieceFunction("piece_masked", [EMPTY_CLASS]);

const COLOR_CLASS_NAMES = ["chess.color.black", "chess.piece.empty", "chess.color.white"];
/** Class 0 = black piece, 1 = empty, 2 = white piece; the empty class shares its names with `piece`. */
export const chessColor: BspFunction = {
  id: "color",
  game: "chess",
  rows: 8,
  classes: 3,
  maskedClasses: [],
  entryName: (row, col, cls) => `${COLOR_CLASS_NAMES[cls]}.${squareOf(row, col)}`,
};

export const CHESS_BOARD_BSP_FUNCTIONS: readonly BspFunction[] = [chessPiece, chessPieceMaskedBlank, chessPieceMasked, chessColor];

/** Writes one position's entries of `fn` for `board` into `out` (zeroed, bspWidth(fn) long). */
export function fillChessBoardBsp(fn: BspFunction, board: ChessBoardValues, out: Uint8Array): void {
  switch (fn.id) {
    case "piece":
      for (let square = 0; square < 64; square++) out[square * 13 + board[square] + 6] = 1;
      return;
    case "piece_masked_blank":
      for (let square = 0; square < 64; square++) if (board[square] !== 0) out[square * 13 + board[square] + 6] = 1;
      return;
    case "piece_masked":
      for (let square = 0; square < 64; square++) {
        const value = board[square];
        if (value !== 0 && value !== INITIAL_BOARD_VALUES[square]) out[square * 13 + value + 6] = 1;
      }
      return;
    case "color":
      for (let square = 0; square < 64; square++) out[square * 3 + Math.sign(board[square]) + 1] = 1;
      return;
    default:
      throw new RangeError(`fillChessBoardBsp: "${fn.id}" is not a chess board function (${CHESS_BOARD_BSP_FUNCTIONS.map((f) => f.id).join(", ")})`);
  }
}

/**
 * Tables of the board functions for every character considered (spec §3.1, §3.3): each distinct board B_k is
 * computed once and its row copied to the characters that see it. Accepts a movetext (all its characters, or the
 * first `positions`) or boards already replayed by chessCharBoards.
 */
export function chessBoardBspTables(
  game: string | ChessCharBoards,
  fns: readonly BspFunction[] = CHESS_BOARD_BSP_FUNCTIONS,
  positions?: number,
): BspTable[] {
  const charBoards = typeof game === "string" ? chessCharBoards(game, { positions }) : game;
  return fns.map((fn) => {
    const width = bspWidth(fn);
    const perBoard = new Uint8Array(charBoards.boards.length * width); // [plies + 1, width]
    charBoards.boards.forEach((board, k) => fillChessBoardBsp(fn, board, perBoard.subarray(k * width, (k + 1) * width)));
    const data = new Uint8Array(charBoards.positions * width);
    for (let p = 0; p < charBoards.positions; p++) {
      const k = charBoards.boardOfChar[p];
      data.set(perBoard.subarray(k * width, (k + 1) * width), p * width);
    }
    return { fn, positions: charBoards.positions, data };
  });
}
