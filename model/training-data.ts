// Training sequences from a game dataset (spec model.md §4): fixed-length input/target/mask rows, and the seeded
// order in which a run visits them — a pure function of (seed, step), so a resumed run reads what it would have.

import { xoshiro128, randomBelow } from "../boards/random.js";
import type { GameRow } from "../boards/game-dataset.js";
import { chessTrainingPair } from "../boards/chess/tokenizer.js";
import { othelloTrainingPair } from "../boards/othello/tokenizer.js";
import type { GptConfig } from "./config.js";

/** N sequences of n_ctx positions: inputs and targets are token ids, mask[i] = 1 where target i counts in the loss. */
export interface TokenSequences {
  count: number;
  length: number;
  inputs: Int32Array;
  targets: Int32Array;
  mask: Uint8Array;
}

/** Sequences for `config`'s game from dataset rows; a row of the other game is an error naming it. */
export function tokenSequences(config: GptConfig, rows: readonly GameRow[]): TokenSequences {
  const T = config.n_ctx;
  const inputs = new Int32Array(rows.length * T);
  const targets = new Int32Array(rows.length * T);
  const mask = new Uint8Array(rows.length * T);
  rows.forEach((row, index) => {
    if (row.game !== config.game) throw new Error(`game ${row.gameId} is ${row.game}, the model plays ${config.game}`);
    const offset = index * T;
    if (row.game === "othello") {
      if (T !== 59) throw new Error(`Othello models need n_ctx 59, the config has ${T}`);
      const pair = othelloTrainingPair(row.tokens);
      inputs.set(pair.inputs, offset);
      targets.set(pair.targets, offset);
      for (let i = 0; i < T; i++) mask[offset + i] = pair.targets[i] === config.pad_token_id ? 0 : 1;
    } else {
      const pair = chessTrainingPair(row.moves, T);
      inputs.set(pair.inputs, offset);
      targets.set(pair.targets, offset);
      mask.set(pair.targetMask, offset);
    }
  });
  return { count: rows.length, length: T, inputs, targets, mask };
}

/**
 * Index of the sequence at position `k` of the run's stream: epoch e = ⌊k/N⌋ visits all N sequences in a
 * Fisher–Yates order drawn from xoshiro128(seed, e). Permutations are cached per epoch.
 */
export class SequenceOrder {
  private epoch = -1;
  private permutation = new Uint32Array(0);

  constructor(
    readonly count: number,
    readonly seed: number,
  ) {
    if (count < 1) throw new Error("training data holds no sequences");
  }

  at(k: number): number {
    const epoch = Math.floor(k / this.count);
    if (epoch !== this.epoch) {
      this.permutation = Uint32Array.from({ length: this.count }, (_, i) => i);
      const random = xoshiro128(this.seed >>> 0, epoch);
      for (let i = this.count - 1; i > 0; i--) {
        const j = randomBelow(random, i + 1);
        [this.permutation[i], this.permutation[j]] = [this.permutation[j], this.permutation[i]];
      }
      this.epoch = epoch;
    }
    return this.permutation[k - epoch * this.count];
  }
}

/** Copies sequences `indices` into batch arrays [indices.length, T]. */
export function gatherSequences(data: TokenSequences, indices: readonly number[]): Omit<TokenSequences, "length"> & { length: number } {
  const T = data.length;
  const inputs = new Int32Array(indices.length * T);
  const targets = new Int32Array(indices.length * T);
  const mask = new Uint8Array(indices.length * T);
  indices.forEach((sequence, row) => {
    inputs.set(data.inputs.subarray(sequence * T, (sequence + 1) * T), row * T);
    targets.set(data.targets.subarray(sequence * T, (sequence + 1) * T), row * T);
    mask.set(data.mask.subarray(sequence * T, (sequence + 1) * T), row * T);
  });
  return { count: indices.length, length: T, inputs, targets, mask };
}
