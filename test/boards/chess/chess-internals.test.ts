import { Chess } from "chess.js";
import { describe, expect, it } from "vitest";
import { legalMoves, playMove, playSan, sanOfMove } from "../../../boards/chess/chess-internals.js";
import { formatChessMovetext } from "../../../boards/chess/movetext.js";
import { playRandomChessGame, type RandomChessGame } from "../../../boards/chess/random-games.js";
import { randomBelow, xoshiro128, type RandomStream } from "../../../boards/random.js";

/** The random recipe written with chess.js's public API only: the reference for the fast path. */
function playWithPublicApi(random: RandomStream, maxPlies: number, maxChars: number): RandomChessGame {
  const chess = new Chess();
  const sans: string[] = [];
  while (!chess.isGameOver() && sans.length < maxPlies && formatChessMovetext(sans).length <= maxChars) {
    const moves = chess.moves();
    const san = moves[randomBelow(random, moves.length)];
    chess.move(san);
    sans.push(san);
  }
  let result: RandomChessGame["result"] = "*";
  if (chess.isCheckmate()) result = chess.turn() === "w" ? "0-1" : "1-0";
  else if (chess.isDraw()) result = "1/2-1/2";
  return { sans, movetext: formatChessMovetext(sans), result };
}

describe("chess.js fast paths", () => {
  it("list the moves of chess.moves() in its order with its SANs", () => {
    const chess = new Chess();
    const random = xoshiro128(1, 1);
    for (let ply = 0; ply < 120 && !chess.isGameOver(); ply++) {
      const moves = legalMoves(chess);
      expect(moves.map((move) => sanOfMove(chess, move, moves))).toEqual(chess.moves());
      playMove(chess, moves[randomBelow(random, moves.length)]);
    }
  });

  it("play a SAN exactly as chess.move does, and refuse illegal, non-strict and null moves", () => {
    const fast = new Chess();
    const reference = new Chess();
    for (const san of ["e4", "e5", "Nf3", "Nc6", "Bb5", "a6", "Bxc6", "dxc6", "O-O", "f6"]) {
      expect(playSan(fast, san)).toBe(true);
      reference.move(san);
      expect(fast.fen()).toBe(reference.fen());
    }
    for (const bad of ["O-O", "Nf3", "e2e4", "Ke2", "--", "Nf", "", "Qxx"]) {
      expect(playSan(fast, bad)).toBe(false);
      expect(fast.fen()).toBe(reference.fen());
    }
    // repetitions are counted, so threefold repetition is seen
    const shuffle = new Chess();
    for (const san of ["Nf3", "Nf6", "Ng1", "Ng8", "Nf3", "Nf6", "Ng1", "Ng8"]) playSan(shuffle, san);
    expect(shuffle.isThreefoldRepetition()).toBe(true);
  });

  it("make playRandomChessGame equal the public-API recipe", () => {
    for (let game = 0; game < 12; game++) {
      const limits = game < 3 ? { maxPlies: 400, maxChars: 100_000 } : { maxPlies: 400, maxChars: 200 };
      const fast = playRandomChessGame(xoshiro128(21, game), limits);
      expect(fast).toEqual(playWithPublicApi(xoshiro128(21, game), limits.maxPlies, limits.maxChars));
    }
  });
});
