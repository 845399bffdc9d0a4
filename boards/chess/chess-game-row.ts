// One chess dataset row (spec boards.md §4), shared by every chess source: random, engine and pgn.

import { gameId, type ChessGameRow } from "../game-dataset.js";
import { splitOf, type SplitFractions } from "../splits.js";
import { encodeChessText } from "./tokenizer.js";

/** The config fields every chess source shares that shape its rows. */
export interface ChessRowSettings {
  /** First part of `game_id`. */
  datasetName: string;
  /** Games per shard: the middle part of `game_id`. */
  shardSize: number;
  /** Store the character ids in the optional `tokens` column. */
  storeTokens: boolean;
  splits: SplitFractions;
}

/** What one game adds to its row. */
export interface ChessRowGame {
  source: ChessGameRow["source"];
  /** Movetext of the whole game (spec §2.2). */
  movetext: string;
  plies: number;
  result: ChessGameRow["result"];
  /** The game's PRNG seed; null for imported games. */
  seed: bigint | null;
  meta: string;
}

/** The row of game `index` of a dataset: id from the index, split from the movetext (spec §4). */
export function chessGameRow(settings: ChessRowSettings, index: number, game: ChessRowGame): ChessGameRow {
  return {
    gameId: gameId(settings.datasetName, settings.shardSize, index),
    game: "chess",
    source: game.source,
    moves: game.movetext,
    tokens: settings.storeTokens ? encodeChessText(game.movetext) : null,
    length: game.plies,
    nChars: game.movetext.length,
    result: game.result,
    seed: game.seed,
    meta: game.meta,
    split: splitOf(game.movetext, settings.splits),
  };
}
