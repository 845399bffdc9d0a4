// Linear probes (spec board-metrics.md §9): the loss gradient against float64 central differences, a probe on
// activations that linearly encode the Othello board reaching accuracy and reconstruction ≈ 1 on held-out games,
// the board masks on hand-built rows (Othello empty class, chess initial squares), and evaluation counts of
// hand-set probes against counts taken from the truth tables by plain loops.

import { beforeAll, describe, expect, it } from "vitest";
import { bspWidth } from "../../../boards/bsp.js";
import { chessPiece, chessPieceMasked, fillChessBoardBsp } from "../../../boards/chess/bsp.js";
import { INITIAL_BOARD_VALUES } from "../../../boards/chess/pieces.js";
import type { GameRow } from "../../../boards/game-dataset.js";
import { gameSourceConfigSchema, generateGames } from "../../../boards/game-sources.js";
import {
  evaluateLinearProbe, gameRowOffsets, initLinearProbe, maskedBoardPrediction, predictProbeClasses, probeLabels, probeLoss,
  probeRandom, trainLinearProbe, type LinearProbe,
} from "../../../boards/metrics/linear-probe.js";
import { scoredPositions } from "../../../boards/metrics/scored-games.js";
import { othelloMine, othelloMineMasked } from "../../../boards/othello/bsp.js";
import { xoshiro128 } from "../../../boards/random.js";
import type { Kernels } from "../../../compute/kernels.js";
import { kernels as selectedKernels } from "../../../compute/select.js";
import { fillNormal } from "../../../model/init.js";

let kernels: Kernels;
let othelloGames: GameRow[];
let chessGames: GameRow[];
beforeAll(async () => {
  kernels = (await selectedKernels()).kernels;
  othelloGames = (await generateGames(gameSourceConfigSchema.parse({ game: "othello", source: "random", count: 60, seed: 11 }), { workers: 1 })).rows;
  chessGames = (await generateGames(gameSourceConfigSchema.parse({ game: "chess", source: "random", count: 12, seed: 4 }), { workers: 1 })).rows;
});

/** The spec §9 loss written out in float64: Σ_s (logsumexp(z_s) − z_s[label]), mean over rows. */
function plainLoss(weight: Float64Array, bias: Float64Array, x: Float64Array, labels: Uint8Array, rows: number, dIn: number, classes: number): number {
  const width = 64 * classes;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    for (let s = 0; s < 64; s++) {
      const z: number[] = [];
      for (let c = 0; c < classes; c++) {
        let value = bias[s * classes + c];
        for (let i = 0; i < dIn; i++) value += x[r * dIn + i] * weight[i * width + s * classes + c];
        z.push(value);
      }
      const max = Math.max(...z);
      total += max + Math.log(z.reduce((sum, value) => sum + Math.exp(value - max), 0)) - z[labels[r * 64 + s]];
    }
  }
  return total / rows;
}

/** x[r] = one-hot(truth row)·M + noise, M ~ N(0, 1/64) (64 ones per row: ‖x‖ ≈ √d): the board linearly encoded in d dimensions. */
function encodeBoards(truth: Uint8Array, rows: number, width: number, d: number, seed: number): Float32Array {
  const random = xoshiro128(7, seed);
  const matrix = fillNormal(random, new Float32Array(width * d), 0.125);
  const x = fillNormal(random, new Float32Array(rows * d), 0.01);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < width; j++) {
      if (truth[r * width + j] === 0) continue;
      for (let i = 0; i < d; i++) x[r * d + i] += matrix[j * d + i];
    }
  }
  return x;
}

describe("probeLoss", () => {
  it("equals the float64 loss and its gradient equals central differences", () => {
    for (const [fn, dIn, rows] of [[othelloMine, 3, 4], [chessPiece, 2, 3]] as const) {
      const random = xoshiro128(1, fn.classes);
      const probe = initLinearProbe(fn, dIn, random);
      fillNormal(random, probe.bias, 0.5);
      const x = fillNormal(random, new Float32Array(rows * dIn), 1);
      const labels = Uint8Array.from({ length: rows * 64 }, (_, i) => (i * 7 + (i >> 3)) % fn.classes);
      const grad = { weight: new Float32Array(probe.weight.length), bias: new Float32Array(probe.bias.length) };
      const loss = probeLoss(kernels, probe, x, labels, rows, grad);

      const weight = Float64Array.from(probe.weight);
      const bias = Float64Array.from(probe.bias);
      const x64 = Float64Array.from(x);
      const at = () => plainLoss(weight, bias, x64, labels, rows, dIn, fn.classes);
      expect(loss).toBeCloseTo(at(), 4);
      const h = 1e-5;
      for (const [params, analytic] of [[weight, grad.weight], [bias, grad.bias]] as const) {
        for (let i = 0; i < params.length; i++) {
          const saved = params[i];
          params[i] = saved + h;
          const up = at();
          params[i] = saved - h;
          const down = at();
          params[i] = saved;
          const numeric = (up - down) / (2 * h);
          expect(Math.abs(analytic[i] - numeric)).toBeLessThan(1e-4 + 1e-3 * Math.abs(numeric));
        }
      }
    }
  });
});

describe("trainLinearProbe", () => {
  it("decodes a linearly encoded Othello board on held-out games: accuracy and reconstruction ≈ 1", () => {
    const d = 256;
    const train = othelloGames.slice(0, 50);
    const heldOut = othelloGames.slice(50);
    const trainPositions = scoredPositions(train, [othelloMine], { nCtx: 59 });
    const evalPositions = scoredPositions(heldOut, [othelloMine, othelloMineMasked], { nCtx: 59 });
    const trainRows = trainPositions.game.length;
    const evalRows = evalPositions.game.length;
    const data = {
      activations: encodeBoards(trainPositions.truth.get("mine")!, trainRows, 192, d, 1),
      labels: probeLabels(othelloMine, trainPositions.truth.get("mine")!, trainRows),
      gameOffsets: gameRowOffsets(trainPositions.game, train.length),
    };
    const result = trainLinearProbe(kernels, othelloMine, d, data, { epochs: 20, lr: 2e-2, seed: 3 });
    expect(result.steps).toBe(20 * 25); // 50 games, 2 per step
    expect(result.epochLosses).toHaveLength(20);
    expect(result.epochLosses[19]).toBeLessThan(result.epochLosses[0] / 100);
    expect(result.finalTrainLoss).toBe(result.epochLosses[19]);

    const evaluation = evaluateLinearProbe(kernels, result.probe, encodeBoards(evalPositions.truth.get("mine")!, evalRows, 192, d, 1), evalPositions.truth, evalRows);
    expect(evaluation.positions).toBe(evalRows);
    expect(evaluation.accuracy).toBeGreaterThan(0.995);
    expect(evaluation.reconstruction).toBeGreaterThan(0.995);
    const masked = evalPositions.truth.get("mine_masked")!;
    expect(evaluation.tp + evaluation.fn).toBe(masked.reduce((sum, v) => sum + v, 0)); // every true entry is a TP or an FN

    const again = trainLinearProbe(kernels, othelloMine, d, data, { epochs: 20, lr: 2e-2, seed: 3 });
    expect(again.probe.weight).toEqual(result.probe.weight); // seeded: the same probe
    const other = trainLinearProbe(kernels, othelloMine, d, data, { epochs: 1, lr: 1e-2, seed: 4 });
    expect(other.probe.weight).not.toEqual(trainLinearProbe(kernels, othelloMine, d, data, { epochs: 1, lr: 1e-2, seed: 3 }).probe.weight);
  });

  it("starts from W ~ N(0, 1/d) and b = 0 drawn from the seed's stream", () => {
    const probe = initLinearProbe(othelloMine, 50, probeRandom(0));
    expect(probe.bias.every((v) => v === 0)).toBe(true);
    const variance = probe.weight.reduce((sum, v) => sum + v * v, 0) / probe.weight.length;
    expect(variance).toBeGreaterThan(0.9 / 50);
    expect(variance).toBeLessThan(1.1 / 50);
    expect(initLinearProbe(othelloMine, 50, probeRandom(0)).weight).toEqual(probe.weight);
  });
});

describe("maskedBoardPrediction", () => {
  it("Othello mine_masked: one-hot of the predicted class with the empty class zeroed", () => {
    const classes = Uint8Array.from({ length: 64 }, (_, s) => s % 3); // square s predicts class s mod 3
    const masked = maskedBoardPrediction(othelloMineMasked, classes, 1);
    expect(masked).toHaveLength(192);
    for (let s = 0; s < 64; s++) {
      expect(Array.from(masked.subarray(s * 3, s * 3 + 3))).toEqual(s % 3 === 0 ? [1, 0, 0] : s % 3 === 1 ? [0, 0, 0] : [0, 0, 1]);
    }
  });

  it("chess piece_masked: a piece on its initial square becomes blank, then blank is zeroed", () => {
    const classes = new Uint8Array(64 * 2).fill(6); // two rows, everything empty
    classes[0] = 10; // a1 white rook: its initial square → blank
    classes[1] = 9; // b1 white bishop: b1 starts with a knight → kept
    classes[12] = 7; // e2 white pawn on its initial square → blank
    classes[28] = 7; // e4 white pawn → kept
    classes[60] = 0; // e8 black king (value −6): initial square → blank
    classes[64 + 60] = 1; // row 2, e8 black queen (value −5) → kept
    const masked = maskedBoardPrediction(chessPieceMasked, classes, 2);
    const ones = [...masked.keys()].filter((j) => masked[j] === 1);
    expect(ones).toEqual([1 * 13 + 9, 28 * 13 + 7, (64 + 60) * 13 + 1]);
  });

  it("chess piece_masked of the true classes equals the board function's own table on played positions", () => {
    const positions = scoredPositions(chessGames, [chessPiece, chessPieceMasked], { nCtx: 256 });
    const rows = positions.game.length;
    const labels = probeLabels(chessPiece, positions.truth.get("piece")!, rows);
    expect(maskedBoardPrediction(chessPieceMasked, labels, rows)).toEqual(positions.truth.get("piece_masked"));
    // and on the initial board every square is blank or a piece on its initial square: nothing left
    const initial = new Uint8Array(bspWidth(chessPieceMasked));
    fillChessBoardBsp(chessPieceMasked, INITIAL_BOARD_VALUES, initial);
    expect(maskedBoardPrediction(chessPieceMasked, Uint8Array.from(INITIAL_BOARD_VALUES, (v) => v + 6), 1)).toEqual(initial);
    expect(initial.every((v) => v === 0)).toBe(true);
  });
});

describe("evaluateLinearProbe", () => {
  /** A probe that ignores x and predicts class `cls` on every square. */
  function constantProbe(fn: LinearProbe["fn"], dIn: number, cls: number): LinearProbe {
    const bias = new Float32Array(bspWidth(fn));
    for (let s = 0; s < 64; s++) bias[s * fn.classes + cls] = 1;
    return { fn, dIn, weight: new Float32Array(dIn * bias.length), bias };
  }

  it("counts a constant Othello probe as the truth tables say", () => {
    const positions = scoredPositions(othelloGames.slice(0, 5), [othelloMine, othelloMineMasked], { nCtx: 59 });
    const rows = positions.game.length;
    const mine = positions.truth.get("mine")!;
    const count = (cls: number) => {
      let n = 0;
      for (let cell = 0; cell < rows * 64; cell++) n += mine[cell * 3 + cls];
      return n;
    };
    const x = new Float32Array(rows * 4).fill(1);
    const theirsEverywhere = evaluateLinearProbe(kernels, constantProbe(othelloMine, 4, 2), x, positions.truth, rows);
    expect(theirsEverywhere).toMatchObject({ tp: count(2), fp: rows * 64 - count(2), fn: count(0), positions: rows });
    expect(theirsEverywhere.accuracy).toBeCloseTo(count(2) / (rows * 64), 12);
    const precision = count(2) / (rows * 64);
    const recall = count(2) / (count(0) + count(2));
    expect(theirsEverywhere.reconstruction).toBeCloseTo((2 * precision * recall) / (precision + recall), 6);
    const emptyEverywhere = evaluateLinearProbe(kernels, constantProbe(othelloMine, 4, 1), x, positions.truth, rows);
    expect(emptyEverywhere).toMatchObject({ tp: 0, fp: 0, fn: count(0) + count(2), reconstruction: 0 });
    expect(emptyEverywhere.accuracy).toBeCloseTo(count(1) / (rows * 64), 12);
  });

  it("scores chess through the initial-square mask: a white pawn everywhere, and the exact board", () => {
    const positions = scoredPositions(chessGames, [chessPiece, chessPieceMasked], { nCtx: 256 });
    const rows = positions.game.length;
    const piece = positions.truth.get("piece")!;
    const masked = positions.truth.get("piece_masked")!;
    let movedWhitePawns = 0; // white pawns off rank 2: the TPs of predicting a white pawn everywhere
    let whitePawns = 0;
    for (let r = 0; r < rows; r++) {
      for (let s = 0; s < 64; s++) {
        whitePawns += piece[(r * 64 + s) * 13 + 7];
        if (s >> 3 !== 1) movedWhitePawns += piece[(r * 64 + s) * 13 + 7];
      }
    }
    const positives = masked.reduce((sum, v) => sum + v, 0);
    const pawns = evaluateLinearProbe(kernels, constantProbe(chessPiece, 2, 7), new Float32Array(rows * 2), positions.truth, rows);
    expect(pawns).toMatchObject({ tp: movedWhitePawns, fp: rows * 56 - movedWhitePawns, fn: positives - movedWhitePawns });
    expect(pawns.accuracy).toBeCloseTo(whitePawns / (rows * 64), 12);

    // x = one-hot of `piece`, W = identity: the argmax is the true class on every square
    const identity: LinearProbe = { fn: chessPiece, dIn: 832, weight: new Float32Array(832 * 832), bias: new Float32Array(832) };
    for (let j = 0; j < 832; j++) identity.weight[j * 832 + j] = 1;
    const x = Float32Array.from(piece);
    expect(predictProbeClasses(kernels, identity, x, rows)).toEqual(probeLabels(chessPiece, piece, rows));
    const exact = evaluateLinearProbe(kernels, identity, x, positions.truth, rows);
    expect(exact).toMatchObject({ accuracy: 1, tp: positives, fp: 0, fn: 0 });
    expect(exact.reconstruction).toBeCloseTo(1, 6);
    expect(positives).toBeGreaterThan(0);
  });

  it("refuses activations of the wrong width and truth without the board function", () => {
    const probe = constantProbe(othelloMine, 4, 0);
    const positions = scoredPositions(othelloGames.slice(0, 1), [othelloMine], { nCtx: 59 });
    const rows = positions.game.length;
    expect(() => evaluateLinearProbe(kernels, probe, new Float32Array(rows * 4), positions.truth, rows)).toThrow(/needs the truth of mine and mine_masked/);
    expect(() => predictProbeClasses(kernels, probe, new Float32Array(rows * 3), rows)).toThrow(/width 4/);
  });
});
