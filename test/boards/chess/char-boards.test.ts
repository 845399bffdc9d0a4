import { Chess } from "chess.js";
import { describe, expect, it } from "vitest";
import { chessCharBoards } from "../../../boards/chess/char-boards.js";
import { boardFromRanks } from "./board-text.js";

const INITIAL = boardFromRanks(["rnbqkbnr", "pppppppp", "........", "........", "........", "........", "PPPPPPPP", "RNBQKBNR"]);
const AFTER_E4 = boardFromRanks(["rnbqkbnr", "pppppppp", "........", "........", "....P...", "........", "PPPP.PPP", "RNBQKBNR"]);
const AFTER_E4_E5 = boardFromRanks(["rnbqkbnr", "pppp.ppp", "........", "....p...", "....P...", "........", "PPPP.PPP", "RNBQKBNR"]);

describe("board at each character (spec boards.md §3.3, §5)", () => {
  it("maps ;1.e4 e5 2.Nf3 to B_0 up to the first space, B_1 from it, B_2 from the second", () => {
    const turns: string[] = [];
    const game = chessCharBoards(";1.e4 e5 2.Nf3", { visit: (chess, ply) => turns.push(`${ply}${chess.turn()}`) });
    expect(game.positions).toBe(14);
    //                                     ; 1 . e 4 _ e 5 _ 2 . N f 3
    expect(Array.from(game.boardOfChar)).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
    expect(game.plies).toBe(2); // Nf3 is the last word: no character sees the board after it
    expect(game.boards).toEqual([INITIAL, AFTER_E4, AFTER_E4_E5]);
    expect(turns).toEqual(["0w", "1b", "2w"]); // the '.' at index 10 sees 1...e5 with White to move
  });

  it("maps the characters of a truncated trailing 2.Nf to the board after 1...e5", () => {
    const game = chessCharBoards(";1.e4 e5 2.Nf");
    expect(Array.from(game.boardOfChar.subarray(9))).toEqual([2, 2, 2, 2]);
    expect(game.boards[2]).toEqual(AFTER_E4_E5);
    const cut = chessCharBoards(";1.e4 e5 2.Nf3 Nc6", { positions: 12 });
    expect(cut.positions).toBe(12);
    expect(Array.from(cut.boardOfChar)).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2]);
    expect(cut.plies).toBe(2);
  });

  it("gives a trailing space the board after the word before it", () => {
    const game = chessCharBoards(";1.e4 e5 2.Nf3 Nc6", { positions: 9 });
    expect(Array.from(game.boardOfChar)).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 2]);
    expect(game.boards[2]).toEqual(AFTER_E4_E5);
  });

  it("stops at the first word that is not a legal SAN", () => {
    const game = chessCharBoards(";1.e4 e4 2.Nf3 Nc6"); // 1...e4 is illegal for Black
    expect(game.plies).toBe(1);
    expect(Array.from(game.boardOfChar)).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(chessCharBoards(";1.e4 -- 2.Nf3 Nc6").plies).toBe(1); // chess.js's null move is not a move here
    expect(chessCharBoards(";1.e2e4 e5 2.Nf3").plies).toBe(0); // strict SAN only
  });

  it("replays a castling, en passant and promotion game to the hand-written final board", () => {
    const text = ";1.e4 d5 2.exd5 c6 3.dxc6 Qb6 4.cxb7 Bd7 5.bxa8=Q Nf6 6.Nf3 e6 7.Bc4 Be7 8.O-O O-O 9.h3";
    const game = chessCharBoards(text);
    expect(game.plies).toBe(16);
    expect(game.boards[16]).toEqual(
      boardFromRanks(["Qn...rk.", "p..bbppp", ".q..pn..", "........", "..B.....", ".....N..", "PPPP.PPP", "RNBQ.RK."]),
    );
    const chess = new Chess();
    const finalFen = "Qn3rk1/p2bbppp/1q2pn2/8/2B5/5N2/PPPP1PPP/RNBQ1RK1";
    for (const san of text.replace(/^;/, "").split(" ").slice(0, 16)) chess.move(san.replace(/^\d+\./, ""));
    expect(chess.fen().split(" ")[0]).toBe(finalFen);
  });

  it("considers only the first `positions` characters", () => {
    const text = ";1.e4 e5 2.Nf3 Nc6 3.Bb5 a6 4.Ba4 Nf6 5.O-O Be7 6.Re1 b5 7.Bb3 d6 8.c3 O-O 9.h3 Nb8 10.d4 Nbd7";
    const game = chessCharBoards(text, { positions: 40 });
    expect(game.positions).toBe(40);
    expect(game.plies).toBe(text.slice(0, 40).split(" ").length - 1);
    expect(chessCharBoards(text).boardOfChar[text.length - 1]).toBe(19);
    expect(() => chessCharBoards(text, { positions: -1 })).toThrow(/positions .* got -1/);
  });
});
