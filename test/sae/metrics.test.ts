// SAE metrics (spec sae.md §3; sae/metrics.ts): hand-worked values on a 3-token toy, an identity SAE (fve 1, loss
// recovered 1, KL 0), a zero decoder (loss recovered 0), and a random SAE against float64 loops written here — the
// reconstruction metrics from forward64, CE and KL from logits of a plain hooked forward pass.

import type * as tfTypes from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GameRow, OthelloGameRow } from "../../boards/game-dataset.js";
import { referenceKernels } from "../../compute/reference.js";
import { initTfjs } from "../../compute/tfjs.js";
import { realPositions } from "../../data/activation-cache.js";
import { evaluateModel } from "../../model/evaluate.js";
import { createGpt, disposeGpt, forward, type Gpt } from "../../model/gpt.js";
import { tokenSequences } from "../../model/training-data.js";
import { densityHistogram, readRows, reconstructionMetrics, spliceMetrics, type ReconstructionMetrics } from "../../sae/metrics.js";
import { createSae, type Sae, type SaeParams } from "../../sae/params.js";
import type { ActivationSource } from "../../sae/sweep.js";
import { tinyGames, tinyTrainConfig } from "../model/train-fixtures.js";
import { forward64, toFloat64, uniformArray } from "./reference.js";

function standardSae(params: SaeParams, dIn: number, dSae: number): Sae {
  return createSae(referenceKernels, { architecture: "standard", dIn, dSae, applyBDecToInput: true }, params);
}

/** W_enc = I, W_dec = I, biases 0: f = ReLU(x), x̂ = f. */
function identitySae(d: number): Sae {
  const eye = new Float32Array(d * d);
  for (let i = 0; i < d; i++) eye[i * d + i] = 1;
  return standardSae({ W_enc: eye, b_enc: new Float32Array(d), W_dec: eye.slice(), b_dec: new Float32Array(d) }, d, d);
}

describe("reconstruction metrics", () => {
  // x = (1,0), (0,2), (2,4); W_enc = [[1,0,−1],[0,1,−1]] so f = (x1, x2, 0) (feature 2 dead);
  // W_dec rows (1,0), (0,0.5), (5,5) so x̂ = (x1, x2/2): (1,0), (0,1), (2,2).
  const toy = standardSae(
    { W_enc: Float32Array.from([1, 0, -1, 0, 1, -1]), b_enc: new Float32Array(3), W_dec: Float32Array.from([1, 0, 0, 0.5, 5, 5]), b_dec: new Float32Array(2) },
    2,
    3,
  );
  const x = Float32Array.from([1, 0, 0, 2, 2, 4]);
  const expected: ReconstructionMetrics = {
    tokens: 3,
    l0: 4 / 3, // 1 + 1 + 2 nonzero features
    l1: 3, // (1 + 2 + 6)/3
    mse: 5 / 3, // errors (0,0), (0,1), (0,2): 0 + 1 + 4
    l2_loss: 1, // (0 + 1 + 2)/3
    fve: 0.8, // Σ Var(x_d) = 2/3 + 8/3, Σ Var(e_d) = 0 + 2/3
    fve_per_token: 0.4, // x̄ = (1,2): ‖x − x̄‖² = 4, 1, 5; 1 − (0/4, 1/1, 4/5) averaged
    alive: 2,
    frac_alive: 2 / 3,
    frac_dead: 1 / 3,
    cossim: (1 + 1 + 12 / Math.sqrt(20 * 8)) / 3,
    l2_ratio: (1 + 0.5 + Math.sqrt(8 / 20)) / 3,
    relative_reconstruction_bias: 10 / 3 / 5, // mean ‖x̂‖² = (1 + 1 + 8)/3, mean ⟨x, x̂⟩ = (1 + 2 + 12)/3
  };

  for (const batchSize of [1, 2, 3]) {
    it(`match the hand-worked values on a 3 × 2 toy (batches of ${batchSize})`, () => {
      const { metrics, density } = reconstructionMetrics(toy, x, 3, batchSize);
      expect(Object.keys(metrics).sort()).toEqual(Object.keys(expected).sort());
      for (const [name, value] of Object.entries(expected)) expect(metrics[name as keyof ReconstructionMetrics], name).toBeCloseTo(value, 12);
      expect([...density]).toEqual([2 / 3, 2 / 3, 0]);
    });
  }

  it("an identity SAE on nonnegative inputs explains all variance", () => {
    const d = 5;
    const rows = uniformArray(40 * d, 7).map(Math.abs);
    rows[3] = 0; // one zero entry: L0 counts it out
    const { metrics } = reconstructionMetrics(identitySae(d), rows, 40, 16);
    expect(metrics).toMatchObject({ mse: 0, l2_loss: 0, fve: 1, fve_per_token: 1, l0: (40 * d - 1) / 40, frac_alive: 1, frac_dead: 0 });
    expect(metrics.cossim).toBeCloseTo(1, 12);
    expect(metrics.l2_ratio).toBeCloseTo(1, 12);
    expect(metrics.relative_reconstruction_bias).toBeCloseTo(1, 12);
  });

  it("a random SAE over several batches equals float64 loops over forward64", () => {
    const [dIn, dSae, N] = [6, 12, 50];
    const params = { W_enc: uniformArray(dIn * dSae, 1, 0.6), b_enc: uniformArray(dSae, 2, 0.2), W_dec: uniformArray(dSae * dIn, 3, 0.6), b_dec: uniformArray(dIn, 4, 0.3) };
    const rows = uniformArray(N * dIn, 5, 2);
    const { metrics, density } = reconstructionMetrics(standardSae(params, dIn, dSae), rows, N, 7);
    const { f, xHat } = forward64(toFloat64(params), rows, N, dIn, dSae);
    const mean = (fn: (b: number) => number) => Array.from({ length: N }, (_, b) => fn(b)).reduce((a, c) => a + c, 0) / N;
    const dot = (b: number, u: ArrayLike<number>, v: ArrayLike<number>) => Array.from({ length: dIn }, (_, j) => u[b * dIn + j] * v[b * dIn + j]).reduce((a, c) => a + c, 0);
    const error = Float64Array.from(rows, (value, i) => value - xHat[i]);
    const variance = (v: ArrayLike<number>) => {
      let total = 0;
      for (let j = 0; j < dIn; j++) {
        const m = mean((b) => v[b * dIn + j]);
        total += mean((b) => (v[b * dIn + j] - m) ** 2);
      }
      return total;
    };
    const xBar = Array.from({ length: dIn }, (_, j) => mean((b) => rows[b * dIn + j]));
    const centred = Float64Array.from(rows, (value, i) => value - xBar[i % dIn]);
    const reference = {
      l0: mean((b) => f.slice(b * dSae, (b + 1) * dSae).filter((v) => v !== 0).length),
      l1: mean((b) => f.slice(b * dSae, (b + 1) * dSae).reduce((a, v) => a + Math.abs(v), 0)),
      mse: mean((b) => dot(b, error, error)),
      l2_loss: mean((b) => Math.sqrt(dot(b, error, error))),
      fve: 1 - variance(error) / variance(rows),
      fve_per_token: mean((b) => 1 - dot(b, error, error) / dot(b, centred, centred)),
      cossim: mean((b) => dot(b, rows, xHat) / Math.sqrt(dot(b, rows, rows) * dot(b, xHat, xHat))),
      l2_ratio: mean((b) => Math.sqrt(dot(b, xHat, xHat) / dot(b, rows, rows))),
      relative_reconstruction_bias: mean((b) => dot(b, xHat, xHat)) / mean((b) => dot(b, rows, xHat)),
    };
    for (const [name, value] of Object.entries(reference)) expect(metrics[name as keyof ReconstructionMetrics], name).toBeCloseTo(value, 5);
    for (let i = 0; i < dSae; i++) expect(density[i]).toBe(Array.from({ length: N }, (_, b) => f[b * dSae + i] > 0).filter(Boolean).length / N);
    expect(metrics.alive).toBe([...density].filter((value) => value > 0).length);
  });

  it("refuses rows that do not fit the SAE", () => {
    expect(() => reconstructionMetrics(identitySae(4), new Float32Array(10), 3)).toThrow(/activations hold 10 values, expected \[3, d_in 4\] = 12/);
    expect(() => reconstructionMetrics(identitySae(4), new Float32Array(0), 0)).toThrow(/at least one row/);
  });
});

describe("helpers", () => {
  it("densityHistogram bins log10 densities over [−10, 0] (dead features in the first bin, density 1 in the last)", () => {
    const { edges, counts } = densityHistogram([-10, -10, -3.2, -3, -0.1, 0, 4.3e-11], 0.5);
    expect(edges).toHaveLength(21);
    expect(edges[0]).toBe(-10);
    expect(edges[20]).toBe(0);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(7);
    expect(counts[0]).toBe(2);
    expect(counts[13]).toBe(1); // −3.2 ∈ [−3.5, −3)
    expect(counts[14]).toBe(1); // −3 ∈ [−3, −2.5)
    expect(counts[19]).toBe(3); // −0.1, 0 and log10(1 + 1e-10)
  });

  it("readRows reads a source until it ends or maxRows, cutting the last batch", async () => {
    const d = 3;
    let served = 0;
    const source: ActivationSource = {
      d,
      hook: "blocks.0.hook_resid_post",
      async next(batchSize: number) {
        if (served >= 10) return null;
        const rows = Math.min(batchSize, 10 - served);
        const batch = Float32Array.from({ length: rows * d }, (_, i) => served * d + i);
        served += rows;
        return batch;
      },
      close() {},
    };
    const first = await readRows(source, 7, 4);
    expect(first.tokens).toBe(7);
    expect([...first.rows]).toEqual(Array.from({ length: 21 }, (_, i) => i));
    const rest = await readRows(source, 100, 4);
    expect(rest.tokens).toBe(3);
    expect(rest.rows[0]).toBe(21);
  });
});

describe("loss recovered and KL (splicing the SAE at its hook)", () => {
  let tf: typeof tfTypes;
  let model: Gpt;
  let games: GameRow[];

  beforeAll(async () => {
    tf = (await initTfjs()).tf;
    model = createGpt(tf, tinyTrainConfig(4));
    // W_E ≥ 0, so hook_embed is nonnegative and an identity SAE (ReLU) reconstructs it exactly.
    const embed = model.params.get("embed.W_E")!;
    embed.assign(tf.abs(embed).mul(8));
    const rows = (await tinyGames(12, 9)) as OthelloGameRow[];
    // Two short games: padding at the end of their rows.
    games = rows.slice(0, 9).map((row, i) => (i % 4 === 1 ? { ...row, length: 17 + i, moves: row.moves.slice(0, 17 + i), tokens: row.tokens.slice(0, 17 + i) } : row));
  });
  afterAll(() => disposeGpt(model));

  it("an identity SAE: x̂ = x, so CE equals the clean CE (the model's validation loss), loss recovered 1, KL 0", () => {
    const result = spliceMetrics(model, identitySae(16), "hook_embed", games, 4);
    expect(result.ce_sae).toBe(result.ce_clean);
    expect(result.kl_sae).toBe(0);
    expect(result.loss_recovered).toBe(1);
    expect(result.kl_score).toBe(1);
    expect(Math.abs(result.ce_zero - result.ce_clean)).toBeGreaterThan(1e-3); // zero-ablation changes the loss (either way: the model is untrained)
    expect(result.kl_zero).toBeGreaterThan(0);
    const evaluation = evaluateModel(model, games, 5);
    expect(result.positions).toBe(evaluation.positions);
    expect(result.ce_clean).toBeCloseTo(evaluation.loss, 5);
    expect(result.games).toBe(games.length);
  });

  it("a zero decoder: x̂ = 0 equals zero-ablation, loss recovered 0, KL score 0", () => {
    const d = 16;
    const params = { W_enc: uniformArray(d * 8, 3), b_enc: uniformArray(8, 4), W_dec: new Float32Array(8 * d), b_dec: new Float32Array(d) };
    const result = spliceMetrics(model, standardSae(params, d, 8), "hook_embed", games, 3);
    expect(result.ce_sae).toBe(result.ce_zero);
    expect(result.kl_sae).toBe(result.kl_zero);
    expect(result.loss_recovered).toBeCloseTo(0, 15); // ±0
    expect(result.kl_score).toBeCloseTo(0, 15);
  });

  it("a random SAE at the residual stream equals CE and KL computed in float64 from a plain hooked forward pass", () => {
    const [d, dSae, hook] = [16, 24, "blocks.0.hook_resid_post"];
    const params = { W_enc: uniformArray(d * dSae, 11, 0.4), b_enc: uniformArray(dSae, 12, 0.1), W_dec: uniformArray(dSae * d, 13, 0.4), b_dec: uniformArray(d, 14, 0.2) };
    const result = spliceMetrics(model, standardSae(params, d, dSae), hook, games, 4);

    const T = model.config.n_ctx;
    const data = tokenSequences(model.config, games);
    const lengths = games.map((row) => realPositions(model.config, row));
    const params64 = toFloat64(params);
    /** Logits [G, T, V] with the hook's real positions replaced by `replace(row)` (float64 math, stored as float32). */
    const logitsWith = (replace: ((row: Float64Array) => ArrayLike<number>) | null): Float32Array =>
      tf.tidy(() => {
        const tokens = tf.tensor2d(data.inputs, [games.length, T], "int32");
        return forward(model, tokens, (name, activation) => {
          if (replace === null || name !== hook) return undefined;
          const values = Float32Array.from(activation.dataSync() as Float32Array);
          games.forEach((_, g) => {
            for (let t = 0; t < lengths[g]; t++) values.set(replace(Float64Array.from(values.subarray((g * T + t) * d, (g * T + t + 1) * d))), (g * T + t) * d);
          });
          return tf.tensor(values, activation.shape);
        }).dataSync() as Float32Array;
      });
    const clean = logitsWith(null);
    const withSae = logitsWith((row) => forward64(params64, row, 1, d, dSae).xHat);
    const zeroed = logitsWith((row) => new Float64Array(row.length));
    const V = model.config.d_vocab;
    const logSoftmax = (logits: Float32Array, at: number) => {
      const row = Array.from(logits.subarray(at * V, (at + 1) * V));
      const max = Math.max(...row);
      const log = Math.log(row.reduce((sum, value) => sum + Math.exp(value - max), 0)) + max;
      return row.map((value) => value - log);
    };
    let [positions, ceClean, ceSae, ceZero, klSae, klZero] = [0, 0, 0, 0, 0, 0];
    for (let at = 0; at < games.length * T; at++) {
      if (!data.mask[at]) continue;
      positions++;
      const [c, s, z] = [logSoftmax(clean, at), logSoftmax(withSae, at), logSoftmax(zeroed, at)];
      const target = data.targets[at];
      ceClean -= c[target];
      ceSae -= s[target];
      ceZero -= z[target];
      klSae += c.reduce((sum, value, v) => sum + Math.exp(value) * (value - s[v]), 0);
      klZero += c.reduce((sum, value, v) => sum + Math.exp(value) * (value - z[v]), 0);
    }
    expect(result.positions).toBe(positions);
    const expected = { ce_clean: ceClean / positions, ce_sae: ceSae / positions, ce_zero: ceZero / positions, kl_sae: klSae / positions, kl_zero: klZero / positions };
    for (const [name, value] of Object.entries(expected)) expect(result[name as keyof typeof expected], name).toBeCloseTo(value, 4);
    expect(result.loss_recovered).toBeCloseTo((expected.ce_zero - expected.ce_sae) / (expected.ce_zero - expected.ce_clean), 3);
    expect(result.kl_score).toBeCloseTo((expected.kl_zero - expected.kl_sae) / expected.kl_zero, 3);
    expect(result.kl_sae).toBeGreaterThan(1e-4); // the random SAE really changes the model's predictions
  });

  it("refuses a hook whose width differs from the SAE's d_in, and an unknown hook", () => {
    expect(() => spliceMetrics(model, identitySae(8), "hook_embed", games)).toThrow(/hook "hook_embed" of tiny-othello has width 16, the SAE has d_in 8/);
    expect(() => spliceMetrics(model, identitySae(16), "blocks.7.hook_resid_post", games)).toThrow(/unknown hook/);
  });
});
