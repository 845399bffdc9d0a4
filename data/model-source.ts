// Activations made on the fly, without a cache (dictionary_learning's ActivationBuffer): when the shuffle buffer is
// half empty, the model runs on the next games of a seeded per-epoch order and their rows refill it. Same rows as a
// cache of the games would hold (data/activation-cache.ts batchActivations), same batches interface as the loader.

import type { GameRow } from "../boards/game-dataset.js";
import type { Gpt } from "../model/gpt.js";
import { SequenceOrder } from "../model/training-data.js";
import { batchActivations, cacheRowWidth, rowsPerGame } from "./activation-cache.js";
import {
  ActivationSourceError, checkShuffleOptions, ShuffledActivations, type RowChunk, type RowChunkSource, type ShuffleOptions,
} from "./activation-source.js";

export interface ModelActivationSourceOptions extends ShuffleOptions {
  /** The model; owned by the caller (close does not dispose it). */
  model: Gpt;
  /** Games of the model's kind; each epoch visits all of them in a seeded order. */
  games: readonly GameRow[];
  /** TransformerLens hook name (one vector per position; not the attention maps). */
  hook: string;
  /** Games per model run when refilling; default 64. */
  gamesPerRun?: number;
  /** Keep only positions whose input token is one of these (e.g. chess '.'); null (default) keeps every real one. */
  positionTokens?: readonly number[] | null;
  /** The row width the consumer expects; another width is an error naming both. */
  expectD?: number;
}

/** Batches of one hook's activations computed from the model as the buffer needs them. */
export class ModelActivationSource extends ShuffledActivations {
  constructor(options: ModelActivationSourceOptions) {
    const { model, games, hook, gamesPerRun = 64, positionTokens = null, expectD } = options;
    const shuffle = checkShuffleOptions(`model activation source ${hook}`, options);
    if (!Number.isInteger(gamesPerRun) || gamesPerRun < 1) throw new ActivationSourceError(`model activation source ${hook}: gamesPerRun must be a positive integer, got ${gamesPerRun}`);
    const d = cacheRowWidth(model.config, hook);
    if (expectD !== undefined && d !== expectD) {
      throw new ActivationSourceError(`model ${model.config.model_name}: hook "${hook}" has rows of width d = ${d}, the consumer expects d = ${expectD}`);
    }
    const rowsPerEpoch = rowsPerGame(model.config, games, positionTokens).reduce((sum, rows) => sum + rows, 0);
    if (rowsPerEpoch === 0) {
      throw new ActivationSourceError(`model activation source ${hook}: ${games.length} games give no positions (positions filter ${JSON.stringify(positionTokens)})`);
    }
    const chunks = new GameRunChunks(model, games, hook, positionTokens, gamesPerRun, shuffle.seed, shuffle.epochs);
    super(hook, d, rowsPerEpoch, chunks, shuffle);
  }
}

/** Game k of the stream is game order_e[k mod n] of epoch e = ⌊k/n⌋; one model run per chunk, within one epoch. */
class GameRunChunks implements RowChunkSource {
  private readonly order: SequenceOrder;
  private readonly total: number;
  private taken = 0;

  constructor(
    private readonly model: Gpt,
    private readonly games: readonly GameRow[],
    private readonly hook: string,
    private readonly positionTokens: readonly number[] | null,
    private readonly gamesPerRun: number,
    seed: number,
    epochs: number,
  ) {
    this.order = new SequenceOrder(games.length, seed);
    this.total = epochs * games.length;
  }

  async next(): Promise<RowChunk | null> {
    if (this.taken >= this.total) return null;
    const n = this.games.length;
    const epoch = Math.floor(this.taken / n);
    const count = Math.min(this.gamesPerRun, (epoch + 1) * n - this.taken);
    const rows = Array.from({ length: count }, (_, i) => this.games[this.order.at(this.taken + i)]);
    this.taken += count;
    const activations = batchActivations(this.model, rows, [this.hook], this.positionTokens).activations.get(this.hook)!;
    return { epoch, activations, rows: activations.length / cacheRowWidth(this.model.config, this.hook) };
  }

  async close(): Promise<void> {
    this.taken = this.total;
  }
}
