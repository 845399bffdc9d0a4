// Othello dataset rows written by hand, for tests.
import type { OthelloGameRow } from "../../../boards/game-dataset.js";
import { parseOthelloMoves } from "../../../boards/othello/squares.js";
import { encodeOthelloMoves } from "../../../boards/othello/tokenizer.js";

/** A row for the game given as square names ("c4 c3"). */
export function othelloRow(moves: string, gameId = "demo-0-0"): OthelloGameRow {
  const squares = parseOthelloMoves(moves);
  return {
    gameId,
    game: "othello",
    source: "random",
    moves: squares,
    tokens: encodeOthelloMoves(squares),
    length: squares.length,
    nChars: null,
    result: "unfinished",
    seed: null,
    meta: "{}",
    split: "train",
  };
}
