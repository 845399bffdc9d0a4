// Model evaluation on held-out games (spec model.md §4): mean validation loss over unmasked targets, and the legal-move
// rate: for Othello top-1 (the argmax over all logits is legal for the player to move, pass-aware), for chess the
// greedy-decoded move at seeded move starts (model/chess-eval.ts).

import type * as tfTypes from "@tensorflow/tfjs";
import type { ChessGameRow, GameRow, OthelloGameRow } from "../boards/game-dataset.js";
import { othelloBsps } from "../boards/othello/bsp.js";
import { tokenToSquare } from "../boards/othello/tokenizer.js";
import { chessLegalMoveRate } from "./chess-eval.js";
import { forward, type Gpt } from "./gpt.js";
import { gatherSequences, tokenSequences, type TokenSequences } from "./training-data.js";

export interface ModelEvaluation {
  games: number;
  /** Target positions that count (not padding). */
  positions: number;
  /** Mean cross-entropy (nats) over those positions. */
  loss: number;
  /**
   * Othello: fraction of positions whose top-1 prediction is a legal move. Chess: fraction of the seeded move-start
   * prompts whose greedy continuation is a legal SAN. NaN when there is nothing to judge.
   */
  legalRate: number | null;
}

/** Summed cross-entropy over mask-selected targets of one batch, as a scalar tensor (the training loss numerator). */
export function maskedCrossEntropySum(
  tf: typeof tfTypes,
  logits: tfTypes.Tensor3D,
  targets: tfTypes.Tensor2D,
  mask: tfTypes.Tensor2D,
): tfTypes.Scalar {
  const V = logits.shape[2];
  const logProbabilities = tf.logSoftmax(logits, -1);
  const picked = logProbabilities.mul(tf.oneHot(targets, V).toFloat()).sum(-1); // [B,T]
  return picked.mul(mask).sum().neg() as tfTypes.Scalar;
}

/**
 * For each game, which tokens are legal next moves at each input position: [games · n_ctx · V] bytes; position i
 * is the board after move i, and only positions with a real target are meaningful.
 */
export function othelloLegalTokens(rows: readonly OthelloGameRow[], nCtx: number, vocab: number): Uint8Array {
  const legal = new Uint8Array(rows.length * nCtx * vocab);
  rows.forEach((row, game) => {
    const table = othelloBsps(row.moves, { gameId: row.gameId }, ["legal"]).get("legal")!;
    const positions = Math.min(row.moves.length, nCtx);
    for (let i = 0; i < positions; i++) {
      for (let token = 1; token < vocab; token++) {
        if (table.data[i * 64 + tokenToSquare(token)]) legal[(game * nCtx + i) * vocab + token] = 1;
      }
    }
  });
  return legal;
}

export interface EvaluateOptions {
  /** Chess: seed choosing the move starts of the legal-move rate (default 0). */
  seed?: number;
  /**
   * Chess: games (the first of `rows`) whose move starts the legal-move rate decodes; default all. Greedy decoding
   * re-runs the whole prefix for each of up to 8 characters, so it costs far more than the loss.
   */
  legalGames?: number;
}

/** Validation loss and legal-move rate of `model` on `rows`, batch by batch without gradients. */
export function evaluateModel(model: Gpt, rows: readonly GameRow[], batchSize = 64, options: EvaluateOptions = {}): ModelEvaluation {
  const { tf, config } = model;
  const data: TokenSequences = tokenSequences(config, rows);
  const V = config.d_vocab;
  const T = config.n_ctx;
  const legal = config.game === "othello" ? othelloLegalTokens(rows as OthelloGameRow[], T, V) : null;
  let lossSum = 0;
  let positions = 0;
  let legalCount = 0;
  for (let start = 0; start < data.count; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, data.count - start) }, (_, i) => start + i);
    const batch = gatherSequences(data, indices);
    const B = batch.count;
    const { loss, predictions } = tf.tidy(() => {
      const logits = forward(model, tf.tensor2d(batch.inputs, [B, T], "int32"));
      const summed = maskedCrossEntropySum(tf, logits, tf.tensor2d(batch.targets, [B, T], "int32"), tf.tensor2d(batch.mask, [B, T], "float32"));
      return { loss: summed.dataSync()[0], predictions: logits.argMax(-1).dataSync() as Int32Array };
    });
    lossSum += loss;
    for (let row = 0; row < B; row++) {
      for (let i = 0; i < T; i++) {
        const at = row * T + i;
        if (!batch.mask[at]) continue;
        positions++;
        if (legal && predictions[at] !== 0 && legal[((start + row) * T + i) * V + predictions[at]]) legalCount++;
      }
    }
  }
  return {
    games: data.count,
    positions,
    loss: positions > 0 ? lossSum / positions : NaN,
    legalRate: legal ? (positions > 0 ? legalCount / positions : NaN) : chessLegalMoveRate(model, (rows as ChessGameRow[]).slice(0, options.legalGames ?? rows.length), { seed: options.seed ?? 0, batchSize }).rate,
  };
}
