import { describe, expect, it } from "vitest";
import { bspIndex, bspNames, bspWidth } from "../../../boards/bsp.js";
import {
  CHESS_BOARD_BSP_FUNCTIONS,
  chessBoardBspTables,
  chessColor,
  chessPiece,
  chessPieceMasked,
  chessPieceMaskedBlank,
  fillChessBoardBsp,
} from "../../../boards/chess/bsp.js";
import type { ChessCharBoards } from "../../../boards/chess/char-boards.js";
import { positiveBspNames } from "../../../boards/position-text.js";
import { boardFromRanks } from "./board-text.js";

/** A one-position game holding a hand-written board. */
function onePosition(ranks: string[]): ChessCharBoards {
  return { positions: 1, plies: 0, boards: [boardFromRanks(ranks)], boardOfChar: Uint16Array.of(0) };
}

describe("chess board functions (spec boards.md §3.4)", () => {
  it("names entries by rank row, file column and class v + 6", () => {
    const names = bspNames(chessPiece);
    expect(names.length).toBe(832);
    expect(names[0]).toBe("chess.piece.black_king.a1");
    expect(names[bspIndex(chessPiece, 2, 5, 8)]).toBe("chess.piece.white_knight.f3");
    expect(names[bspIndex(chessPiece, 3, 4, 6)]).toBe("chess.piece.empty.e4");
    expect(names[bspIndex(chessPiece, 7, 7, 12)]).toBe("chess.piece.white_king.h8");
    expect(bspNames(chessPieceMasked)).toEqual(names); // masked variants share names
    expect(chessPieceMasked.maskedClasses).toEqual([6]);
    expect(chessPieceMaskedBlank.maskedClasses).toEqual([6]);
    expect(chessPiece.maskedClasses).toEqual([]);
    const colorNames = bspNames(chessColor);
    expect(colorNames.slice(12, 15)).toEqual(["chess.color.black.e1", "chess.piece.empty.e1", "chess.color.white.e1"]);
    expect(CHESS_BOARD_BSP_FUNCTIONS.map((fn) => fn.id)).toEqual(["piece", "piece_masked_blank", "piece_masked", "color"]);
  });

  it("marks the pieces after 1.e4 at the characters of ' e5'", () => {
    const [piece, maskedBlank, masked, color] = chessBoardBspTables(";1.e4 e5");
    expect(piece.positions).toBe(8);
    const atSpace = positiveBspNames(piece, 5);
    expect(atSpace.length).toBe(64);
    expect(atSpace).toContain("chess.piece.white_pawn.e4");
    expect(atSpace).toContain("chess.piece.empty.e2");
    expect(atSpace).toContain("chess.piece.black_pawn.e7");
    expect(atSpace).toContain("chess.piece.white_king.e1");
    expect(atSpace).toContain("chess.piece.black_queen.d8");
    expect(atSpace).not.toContain("chess.piece.white_pawn.e2");
    expect(positiveBspNames(piece, 4)).toContain("chess.piece.white_pawn.e2"); // ';1.e4' itself sees the initial board
    expect(positiveBspNames(maskedBlank, 5).length).toBe(32);
    expect(positiveBspNames(masked, 4)).toEqual([]);
    expect(positiveBspNames(masked, 5)).toEqual(["chess.piece.white_pawn.e4"]);
    const colors = positiveBspNames(color, 5);
    expect(colors.length).toBe(64);
    expect(colors).toContain("chess.color.white.e4");
    expect(colors).toContain("chess.piece.empty.e2");
    expect(colors).toContain("chess.color.black.e8");
    expect(colors).toContain("chess.color.white.a1");
  });

  it("copies one row to every character that sees the same board", () => {
    const [piece] = chessBoardBspTables(";1.e4 e5 2.Nf3", [chessPiece]);
    const width = bspWidth(chessPiece);
    const row = (p: number) => Array.from(piece.data.subarray(p * width, (p + 1) * width));
    for (const p of [1, 2, 3, 4]) expect(row(p)).toEqual(row(0));
    for (const p of [9, 10, 11, 12, 13]) expect(row(p)).toEqual(row(8));
    expect(row(8)).not.toEqual(row(5));
    expect(positiveBspNames(piece, 10)).toContain("chess.piece.black_pawn.e5");
    expect(chessBoardBspTables(";1.e4 e5 2.Nf3 Nc6", [chessPiece], 9)[0].positions).toBe(9);
  });

  it("blanks a knight that returned to g1 and a rook back on h1 in piece_masked only", () => {
    const text = ";1.Nf3 Nf6 2.Ng1 Ng8 3.h4 h5 4.Rh3 Rh6 5.Rh1 Rh8 6.a3";
    const [piece, masked] = chessBoardBspTables(text, [chessPiece, chessPieceMasked]);
    const afterNg1 = text.indexOf(" Ng8"); // sees 2.Ng1
    expect(positiveBspNames(masked, afterNg1)).toEqual(["chess.piece.black_knight.f6"]);
    expect(positiveBspNames(piece, afterNg1)).toContain("chess.piece.white_knight.g1");
    expect(positiveBspNames(masked, text.indexOf(" 3.h4"))).toEqual([]);
    expect(positiveBspNames(masked, text.indexOf(" Rh6"))).toEqual([
      "chess.piece.white_rook.h3",
      "chess.piece.white_pawn.h4",
      "chess.piece.black_pawn.h5",
    ]);
    expect(positiveBspNames(masked, text.indexOf(" 6.a3"))).toEqual(["chess.piece.white_pawn.h4", "chess.piece.black_pawn.h5"]);
    expect(positiveBspNames(piece, text.indexOf(" 6.a3"))).toContain("chess.piece.white_rook.h1");
  });

  it("compares with the initial square's piece, not the piece's history, on a hand-built position", () => {
    const game = onePosition(["R...k...", "........", "........", "........", "........", ".....N..", "........", "....K..k"]);
    const [piece, maskedBlank, masked, color] = chessBoardBspTables(game);
    expect(positiveBspNames(masked, 0)).toEqual([
      "chess.piece.black_king.h1", // a black king on h1 differs from the initial white rook
      "chess.piece.white_knight.f3",
      "chess.piece.white_rook.a8", // a white rook on a8 differs from the initial black rook
    ]); // the black king on e8 and the white king on e1 stand on their initial squares
    expect(positiveBspNames(maskedBlank, 0)).toEqual([
      "chess.piece.white_king.e1",
      "chess.piece.black_king.h1",
      "chess.piece.white_knight.f3",
      "chess.piece.white_rook.a8",
      "chess.piece.black_king.e8",
    ]);
    expect(positiveBspNames(piece, 0).filter((name) => !name.includes(".empty."))).toEqual(positiveBspNames(maskedBlank, 0));
    expect(positiveBspNames(color, 0).filter((name) => !name.includes(".empty."))).toEqual([
      "chess.color.white.e1",
      "chess.color.black.h1",
      "chess.color.white.f3",
      "chess.color.white.a8",
      "chess.color.black.e8",
    ]);
  });

  it("blanks the whole board when every piece stands on its initial square", () => {
    const game = onePosition(["....k..r", "........", "........", "........", "........", "........", "........", "R...K..."]);
    expect(positiveBspNames(chessBoardBspTables(game, [chessPieceMasked])[0], 0)).toEqual([]);
  });

  it("refuses a function that is not a chess board function", () => {
    const pin = { ...chessColor, id: "pin" };
    expect(() => fillChessBoardBsp(pin, new Int8Array(64), new Uint8Array(192))).toThrow(/"pin" is not a chess board function/);
  });
});
