// The `random` chess source (spec boards.md §2.3): from the initial position, each ply a uniformly random element of
// chess.js `moves()` (its order, seeded choice) until the game is over, `maxPlies` or the movetext passes `maxChars`.
// Game i of a dataset with seed S draws from its own stream seeded by S·2^32 + i (as boards/othello/random-games.ts),
// so a shard of games depends only on (S, first index, count) and any split of the work gives the same rows.

import { Chess } from "chess.js";
import { z } from "zod";
import { datasetNameSchema, type ChessGameRow } from "../game-dataset.js";
import { checkGameRange, gameSeed, MAX_DATASET_SEED, randomBelow, xoshiro128, type RandomStream } from "../random.js";
import { splitFractionsSchema } from "../splits.js";
import { chessGameRow, type ChessRowSettings } from "./chess-game-row.js";
import { legalMoves, playMove, sanOfMove } from "./chess-internals.js";
import { movetextPrefix } from "./movetext.js";
import { CHESS_CONTEXT_LENGTH } from "./tokenizer.js";

/** Everything that determines the generated rows. */
export const chessRandomConfigSchema = z.object({
  count: z.number().int().positive().default(100_000),
  seed: z.number().int().min(0).max(MAX_DATASET_SEED).default(0),
  /** Plies after which an unfinished game stops (result `*`). */
  maxPlies: z.number().int().positive().default(400),
  /** A game stops (result `*`) once its movetext is longer than this: the model context + 1 by default. */
  maxChars: z.number().int().positive().default(CHESS_CONTEXT_LENGTH + 1),
  /** Games per shard: the unit of work and the middle part of `game_id`. */
  shardSize: z.number().int().positive().default(10_000),
  /** First part of `game_id`: `<datasetName>-<shard>-<index in shard>`. */
  datasetName: datasetNameSchema.default("chess_random"),
  /** Store the character ids in the optional `tokens` column (spec §4). */
  storeTokens: z.boolean().default(false),
  splits: splitFractionsSchema.default({ train: 0.98, val: 0.01 }),
});
export type ChessRandomConfig = z.output<typeof chessRandomConfigSchema>;

export type ChessResult = ChessGameRow["result"];

export interface RandomChessGame {
  /** SANs in play order. */
  sans: string[];
  /** Movetext of all plies (spec §2.2). */
  movetext: string;
  /** `1-0`/`0-1` on mate, `1/2-1/2` on any draw chess.js detects, `*` when stopped by maxPlies or maxChars. */
  result: ChessResult;
}

/** Plays one random game. */
export function playRandomChessGame(
  random: RandomStream,
  limits: { maxPlies: number; maxChars: number } = { maxPlies: 400, maxChars: CHESS_CONTEXT_LENGTH + 1 },
): RandomChessGame {
  const chess = new Chess();
  const sans: string[] = [];
  let movetext = "";
  for (;;) {
    // isGameOver() without generating the moves twice: no legal move is mate or stalemate, the rest are draws
    const moves = legalMoves(chess); // the order of chess.moves()
    if (moves.length === 0) {
      const result = chess.inCheck() ? (chess.turn() === "w" ? "0-1" : "1-0") : "1/2-1/2";
      return { sans, movetext, result };
    }
    if (chess.isInsufficientMaterial() || chess.isThreefoldRepetition() || chess.isDrawByFiftyMoves()) {
      return { sans, movetext, result: "1/2-1/2" };
    }
    if (sans.length >= limits.maxPlies || movetext.length > limits.maxChars) return { sans, movetext, result: "*" };
    const move = moves[randomBelow(random, moves.length)];
    const san = sanOfMove(chess, move, moves);
    playMove(chess, move);
    movetext += movetextPrefix(sans.length) + san;
    sans.push(san);
  }
}

export interface ChessRandomShardTask extends ChessRowSettings {
  datasetSeed: number;
  /** Index of the shard's first game in the dataset. */
  start: number;
  count: number;
  maxPlies: number;
  maxChars: number;
}

/** Rows of games start..start+count−1 (a worker's unit of work; plain data, so it crosses threads). */
export function generateRandomChessShard(task: ChessRandomShardTask): ChessGameRow[] {
  const { datasetSeed, start, count } = task;
  checkGameRange("chess random generation", datasetSeed, start, count);
  const rows: ChessGameRow[] = [];
  for (let index = start; index < start + count; index++) {
    const game = playRandomChessGame(xoshiro128(datasetSeed, index), task);
    rows.push(
      chessGameRow(task, index, {
        source: "random",
        movetext: game.movetext,
        plies: game.sans.length,
        result: game.result,
        seed: gameSeed(datasetSeed, index),
        meta: JSON.stringify({ maxPlies: task.maxPlies, maxChars: task.maxChars }),
      }),
    );
  }
  return rows;
}

/** All `count` games of a config in this thread, in index order (split the index range into shards to parallelise). */
export function generateRandomChessGames(input: z.input<typeof chessRandomConfigSchema>): ChessGameRow[] {
  const config = chessRandomConfigSchema.parse(input);
  return generateRandomChessShard({ ...config, datasetSeed: config.seed, start: 0, count: config.count });
}
