import { describe, expect, it } from "vitest";
import { squaresOf } from "../../../boards/othello/bitboard.js";
import { IllegalOthelloMoveError, OthelloBoard } from "../../../boards/othello/engine.js";
import { playRandomOthelloGame } from "../../../boards/othello/random-games.js";
import { OthelloTranscriptError, replayOthello } from "../../../boards/othello/replay.js";
import { parseOthelloMoves } from "../../../boards/othello/squares.js";
import { xoshiro128 } from "../../../boards/random.js";
import { ArrayOthello } from "./array-othello.js";

function sameCells(board: OthelloBoard, reference: ArrayOthello): boolean {
  for (let square = 0; square < 64; square++) if (board.at(square) !== reference.cells[square]) return false;
  return true;
}

describe("OthelloBoard against a plain array implementation", () => {
  it("agrees on every board, mover, legal set and flip set over 10,000 random games", () => {
    const moves = new Uint8Array(60);
    let positions = 0;
    for (let game = 0; game < 10_000; game++) {
      const length = playRandomOthelloGame(xoshiro128(12345, game), moves).moveCount;
      const reference = new ArrayOthello();
      replayOthello(moves.subarray(0, length), `random-${game}`, (board, moveIndex) => {
        reference.play(moves[moveIndex]);
        positions++;
        if (
          !sameCells(board, reference) ||
          board.sideToMove !== reference.toMove ||
          board.gameOver !== reference.over ||
          board.legalMoves().join() !== reference.moves.join() ||
          squaresOf(board.flippedLo, board.flippedHi).join() !== reference.flipped.join()
        ) {
          expect.fail(`game ${game} move ${moveIndex}: engine and array implementation disagree`);
        }
      });
      expect(reference.over).toBe(true);
    }
    expect(positions).toBeGreaterThan(590_000);
  });
});

describe("OthelloBoard rules", () => {
  it("reports results by disc count", () => {
    // A 9-move game: black wipes out white.
    const { board, result } = replayOthello(parseOthelloMoves("e6 f4 e3 f6 g5 d6 e7 f5 c5"), "wipeout");
    expect(board.gameOver).toBe(true);
    expect(result).toBe("black");
    expect(board.discCount(-1)).toBe(0);
    expect(board.discCount(1)).toBe(13);
  });

  it("throws a typed error for an occupied square and after the game end", () => {
    const board = OthelloBoard.start();
    expect(() => board.play(27)).toThrow(IllegalOthelloMoveError);
    expect(() => board.play(27)).toThrow(/d4 \(square 27\) is not a legal move for black: the square is occupied/);
    expect(() => board.play(0)).toThrow(/brackets no opponent disc/);
    expect(() => board.play(64)).toThrow(/move square must be an integer in \[0, 63\], got 64/);
  });
});

describe("replayOthello strict validation (spec §1.2)", () => {
  it("names the game and move index of an illegal token", () => {
    // After f5 (black), white to move: f5 again is occupied, a1 brackets nothing.
    expect(() => replayOthello([44, 0], "game-7")).toThrow(OthelloTranscriptError);
    expect(() => replayOthello([44, 0], "game-7")).toThrow(/^game game-7, move 1: a1 \(square 0\) is not legal for white/);
  });

  it("does not let the other colour play a move only it could make", () => {
    // c4 is black's move at the start; white cannot answer with black's other opening f5 (legal only for black).
    const error = (() => {
      try {
        replayOthello([19, 44], "colour-swap");
      } catch (caught) {
        return caught as OthelloTranscriptError;
      }
    })();
    expect(error).toBeInstanceOf(OthelloTranscriptError);
    expect(error?.moveIndex).toBe(1);
    expect(error?.square).toBe(44);
  });

  it("rejects moves after the game end and out-of-range ids", () => {
    const wipeout = Array.from(parseOthelloMoves("e6 f4 e3 f6 g5 d6 e7 f5 c5"));
    expect(() => replayOthello([...wipeout, 0], "over")).toThrow(/move 9: a1 played after the game ended/);
    expect(() => replayOthello([19, 70], "range")).toThrow(/move 1: square id must be an integer in \[0, 63\], got 70/);
  });

  it("leaves an unfinished game unfinished", () => {
    expect(replayOthello([19], "short").result).toBe("unfinished");
  });
});
