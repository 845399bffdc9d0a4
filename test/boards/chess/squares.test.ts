import { Chess } from "chess.js";
import { describe, expect, it } from "vitest";
import { boardValues, INITIAL_BOARD_VALUES, PIECE_CLASS_NAMES, pieceValue } from "../../../boards/chess/pieces.js";
import { chessSquareName, parseChessSquare } from "../../../boards/chess/squares.js";
import { boardFromRanks } from "./board-text.js";

describe("chess squares and pieces (spec boards.md §3.4)", () => {
  it("numbers squares rank·8 + file with file-letter rank-digit names", () => {
    expect([0, 7, 8, 28, 56, 63].map(chessSquareName)).toEqual(["a1", "h1", "a2", "e4", "a8", "h8"]);
    expect(["a1", "h1", "E4", "h8"].map(parseChessSquare)).toEqual([0, 7, 28, 63]);
    expect(() => parseChessSquare("i1")).toThrow(/"i1"/);
    expect(() => chessSquareName(64)).toThrow(/got 64/);
  });

  it("orders classes by v + 6", () => {
    expect(PIECE_CLASS_NAMES.length).toBe(13);
    expect(PIECE_CLASS_NAMES[pieceValue("k", "b") + 6]).toBe("black_king");
    expect(PIECE_CLASS_NAMES[pieceValue("n", "b") + 6]).toBe("black_knight");
    expect(PIECE_CLASS_NAMES[6]).toBe("empty");
    expect(PIECE_CLASS_NAMES[pieceValue("p", "w") + 6]).toBe("white_pawn");
    expect(PIECE_CLASS_NAMES[pieceValue("q", "w") + 6]).toBe("white_queen");
  });

  it("reads chess.js boards by square id", () => {
    const initial = boardFromRanks(["rnbqkbnr", "pppppppp", "........", "........", "........", "........", "PPPPPPPP", "RNBQKBNR"]);
    expect(INITIAL_BOARD_VALUES).toEqual(initial);
    expect(boardValues(new Chess())).toEqual(initial);
    const endgame = boardValues(new Chess("8/8/8/8/8/5N2/6k1/4K3 w - - 0 1"));
    expect(Array.from(endgame.entries()).filter(([, value]) => value !== 0)).toEqual([
      [4, 6],
      [14, -6],
      [21, 2],
    ]);
  });
});
