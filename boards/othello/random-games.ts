// Li et al.'s synthetic recipe (spec boards.md §1.5): a uniformly random legal move each turn until the game ends.
// Game i of a dataset with seed S draws from its own stream seeded by S·2^32 + i, so a shard of games depends only
// on (S, first index, count) and any split of the work across workers gives the same bytes.

import { splitOf, type SplitFractions, SPLITS } from "../splits.js";
import { checkGameRange, randomBelow, xoshiro128, type RandomStream } from "../random.js";
import { nthSquare } from "./bitboard.js";
import { OthelloBoard, type OthelloResult } from "./engine.js";
import { formatOthelloMoves } from "./squares.js";
import { MAX_GAME_MOVES } from "./tokenizer.js";

/** Result codes of a packed shard. */
export const RESULT_CODES: readonly OthelloResult[] = ["black", "white", "draw"];

/** Plays one random game into `moves` (≥ 60 slots); returns the final board, whose moveCount is the length. */
export function playRandomOthelloGame(random: RandomStream, moves: Uint8Array): OthelloBoard {
  const board = OthelloBoard.start();
  while (!board.gameOver) {
    const choice = randomBelow(random, board.legalMoveCount()); // legal moves in ascending square id
    const square = nthSquare(board.legalLo, board.legalHi, choice);
    moves[board.moveCount] = square;
    board.play(square);
  }
  return board;
}

export interface OthelloShardTask {
  datasetSeed: number;
  /** Index of the shard's first game in the dataset. */
  start: number;
  count: number;
  splits: SplitFractions;
}

/** `count` games packed for cheap transfer between threads. */
export interface OthelloShard {
  start: number;
  /** [count] moves per game. */
  lengths: Uint8Array;
  /** All games' square ids, concatenated. */
  moves: Uint8Array;
  /** [count] index into RESULT_CODES. */
  results: Uint8Array;
  /** [count] index into SPLITS. */
  splits: Uint8Array;
}

export function generateOthelloShard(task: OthelloShardTask): OthelloShard {
  checkGameRange("Othello generation", task.datasetSeed, task.start, task.count);
  const lengths = new Uint8Array(task.count);
  const results = new Uint8Array(task.count);
  const splits = new Uint8Array(task.count);
  const moves = new Uint8Array(task.count * MAX_GAME_MOVES);
  let offset = 0;
  for (let i = 0; i < task.count; i++) {
    const gameMoves = moves.subarray(offset, offset + MAX_GAME_MOVES);
    const board = playRandomOthelloGame(xoshiro128(task.datasetSeed, task.start + i), gameMoves);
    const length = board.moveCount;
    lengths[i] = length;
    results[i] = RESULT_CODES.indexOf(board.result());
    splits[i] = SPLITS.indexOf(splitOf(formatOthelloMoves(gameMoves.subarray(0, length)), task.splits));
    offset += length;
  }
  return { start: task.start, lengths, moves: moves.slice(0, offset), results, splits };
}
