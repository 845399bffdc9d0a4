import { describe, expect, it } from "vitest";
import { OthelloBoard } from "../../../boards/othello/engine.js";
import { othelloPerft } from "../../../boards/othello/perft.js";
import { squareName } from "../../../boards/othello/squares.js";
import { squareToToken } from "../../../boards/othello/tokenizer.js";

describe("othello perft (spec boards.md §1.3)", () => {
  const table = [4, 12, 56, 244, 1_396, 8_200, 55_092, 390_216, 3_005_288];

  it.each(table.map((leaves, i) => [i + 1, leaves]))("depth %i has %i leaves", (depth, leaves) => {
    expect(othelloPerft(depth)).toBe(leaves);
  });

  it("depth 9 finishes in well under a minute (10 s budget)", () => {
    const started = performance.now();
    othelloPerft(9);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it("rejects a negative depth", () => {
    expect(() => othelloPerft(-1)).toThrow(/perft depth/);
  });
});

describe("othello start position (spec §1.1, §5)", () => {
  it("black moves first with c4 d3 e6 f5 → tokens 20 27 34 41", () => {
    const board = OthelloBoard.start();
    expect(board.sideToMove).toBe(1);
    expect(board.legalMoves()).toEqual([19, 26, 37, 44]);
    expect(board.legalMoves().map(squareName)).toEqual(["c4", "d3", "e6", "f5"]);
    expect(board.legalMoves().map(squareToToken)).toEqual([20, 27, 34, 41]);
    expect([27, 28, 35, 36].map((square) => board.at(square))).toEqual([-1, 1, 1, -1]);
  });
});

describe("othello facts for tests (spec §1.3)", () => {
  // Walks every move sequence of up to 9 moves with the engine's own pass resolution.
  interface Tally { passesBefore9: number; passesAt9: number; endsBefore9: number; nineMoveGames: number }
  function walk(board: OthelloBoard, depth: number, tally: Tally): void {
    for (const square of board.legalMoves()) {
      const child = board.clone();
      child.play(square);
      const moves = depth + 1;
      if (moves < 9) {
        if (child.gameOver) tally.endsBefore9++;
        if (child.lastMoveForcedPass) (moves === 8 ? tally.passesAt9++ : tally.passesBefore9++);
        walk(child, moves, tally);
      } else if (child.gameOver) tally.nineMoveGames++;
    }
  }

  it("first passes at ply 9 (24 positions) and 228 distinct 9-move games", () => {
    const tally = { passesBefore9: 0, passesAt9: 0, endsBefore9: 0, nineMoveGames: 0 };
    walk(OthelloBoard.start(), 0, tally);
    expect(tally).toEqual({ passesBefore9: 0, passesAt9: 24, endsBefore9: 0, nineMoveGames: 228 });
  });
});
