// The linear-probe baseline (spec board-metrics.md §9): per square a C-way softmax classifier on a hook's
// activations, logits_s = x·W_s + b_s, trained with AdamW on the summed per-square cross-entropy as
// chess_llm_interpretability's train_test_chess.py does (W ~ N(0, 1/d), a fresh game order every epoch), then
// scored like a dictionary: argmax per square → one-hot → the board function's masks → §8 steps 3–4.

import { bspWidth, type BspFunction } from "../bsp.js";
import { chessPieceMasked } from "../chess/bsp.js";
import { EMPTY_CLASS, INITIAL_BOARD_VALUES } from "../chess/pieces.js";
import type { GameKind } from "../game-dataset.js";
import { othelloMineMasked } from "../othello/bsp.js";
import { randomBelow, xoshiro128, type RandomStream } from "../random.js";
import { f1Score, microCounts } from "./f1.js";
import { boardFunctionOf, probeFunctionOf } from "./scored-games.js";
import type { Kernels } from "../../compute/kernels.js";
import { fillNormal } from "../../model/init.js";
import { readSafetensors, type SafetensorsTensor } from "../../model/safetensors.js";

/** train_test_chess.py TrainingParams defaults (spec §9): AdamW lr 1e-3, betas (0.9, 0.99), wd 0.01, batch 2, 5 epochs. */
export const PROBE_TRAINING_DEFAULTS = {
  epochs: 5,
  batchGames: 2,
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.99,
  eps: 1e-8,
  weightDecay: 0.01,
  seed: 0,
} as const;

export type ProbeTrainingOptions = { -readonly [K in keyof typeof PROBE_TRAINING_DEFAULTS]: number };

/** Keeps probe streams apart from the game-generation and SAE streams of boards/random.ts. */
const PROBE_STREAM_HIGH_WORD = 0x9b0be;

/** Squares per board (both games are 8×8). */
const SQUARES = 64;

/** Rows per forward pass when predicting (bounds the logits buffer). */
const PREDICT_CHUNK_ROWS = 4096;

/** A trained (or fresh) probe: W [dIn, 64·C] in BSP entry order (row, col, class), b [64·C]. */
export interface LinearProbe {
  /** The unmasked function it classifies (Othello `mine`, chess `piece`). */
  fn: BspFunction;
  dIn: number;
  weight: Float32Array;
  bias: Float32Array;
}

/** A probe's input or output that does not fit it; names what was given and what it needs. */
export class LinearProbeError extends Error {
  constructor(detail: string) {
    super(`linear probe: ${detail}`);
    this.name = "LinearProbeError";
  }
}

/** The probe stream of `seed`: the init draws come first, then one permutation per epoch. */
export function probeRandom(seed: number): RandomStream {
  return xoshiro128(PROBE_STREAM_HIGH_WORD, seed);
}

/** train_test_chess.py init: W = randn(d, R, R, C)/√d; the bias (absent there) starts at 0. */
export function initLinearProbe(fn: BspFunction, dIn: number, random: RandomStream): LinearProbe {
  if (!Number.isInteger(dIn) || dIn < 1) throw new LinearProbeError(`input width must be a positive integer, got ${dIn}`);
  const width = bspWidth(fn);
  return { fn, dIn, weight: fillNormal(random, new Float32Array(dIn * width), 1 / Math.sqrt(dIn)), bias: new Float32Array(width) };
}

/** One-hot truth [rows, 64·C] → class per square [rows, 64]; a square without exactly one class is an error. */
export function probeLabels(fn: BspFunction, truth: Uint8Array, rows: number): Uint8Array {
  const classes = fn.classes;
  if (truth.length < rows * bspWidth(fn)) throw new LinearProbeError(`${fn.id} truth has ${truth.length} entries, ${rows} rows need ${rows * bspWidth(fn)}`);
  const labels = new Uint8Array(rows * SQUARES);
  for (let cell = 0; cell < rows * SQUARES; cell++) {
    let label = -1;
    for (let c = 0; c < classes; c++) {
      if (truth[cell * classes + c] === 0) continue;
      if (label >= 0) label = classes; // a second class: not one-hot
      else label = c;
    }
    if (label < 0 || label === classes) {
      throw new LinearProbeError(`${fn.id} truth of row ${Math.floor(cell / SQUARES)}, square ${cell % SQUARES} is not one-hot`);
    }
    labels[cell] = label;
  }
  return labels;
}

function checkInput(dIn: number, activations: Float32Array, rows: number): void {
  if (activations.length < rows * dIn) {
    throw new LinearProbeError(`activations hold ${activations.length} values, ${rows} rows of width ${dIn} need ${rows * dIn}`);
  }
}

/** logits [rows, 64·C] = x·W + b (Kernels.sgemm). */
function probeLogits(kernels: Kernels, probe: LinearProbe, activations: Float32Array, rows: number, logits: Float32Array): void {
  const width = probe.bias.length;
  const out = logits.subarray(0, rows * width);
  kernels.sgemm(false, false, rows, width, probe.dIn, 1, activations.subarray(0, rows * probe.dIn), probe.weight, 0, out);
  kernels.biasAdd(out, probe.bias, out, false);
}

/**
 * spec §9 loss: Σ over squares of cross-entropy, mean over the rows; with `grad`, writes ∂loss/∂W and ∂loss/∂b.
 * `scratch` (≥ rows·64·C) may be passed to avoid an allocation; it ends holding ∂loss/∂logits.
 */
export function probeLoss(
  kernels: Kernels,
  probe: LinearProbe,
  activations: Float32Array, // [rows, dIn]
  labels: Uint8Array, // [rows, 64]
  rows: number,
  grad?: { weight: Float32Array; bias: Float32Array },
  scratch?: Float32Array,
): number {
  checkInput(probe.dIn, activations, rows);
  if (labels.length < rows * SQUARES) throw new LinearProbeError(`labels hold ${labels.length} squares, ${rows} rows need ${rows * SQUARES}`);
  if (rows === 0) throw new LinearProbeError("the loss of zero rows is undefined");
  const classes = probe.fn.classes;
  const width = probe.bias.length;
  const logits = scratch && scratch.length >= rows * width ? scratch.subarray(0, rows * width) : new Float32Array(rows * width);
  probeLogits(kernels, probe, activations, rows, logits);
  let loss = 0;
  const scale = 1 / rows;
  for (let cell = 0; cell < rows * SQUARES; cell++) {
    const at = cell * classes;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[at + c]);
    const label = labels[cell];
    const labelLogit = logits[at + label];
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += logits[at + c] = Math.exp(logits[at + c] - max);
    loss += Math.log(sum) + max - labelLogit;
    // ∂/∂z of mean-over-rows CE: (softmax − one-hot)/rows
    for (let c = 0; c < classes; c++) logits[at + c] = (logits[at + c] / sum - (c === label ? 1 : 0)) * scale;
  }
  if (grad) {
    kernels.sgemm(true, false, probe.dIn, width, rows, 1, activations.subarray(0, rows * probe.dIn), logits, 0, grad.weight);
    kernels.columnSums(logits, grad.bias);
  }
  return loss / rows;
}

/** Rows of each game in position tables whose `game` column ascends: game g owns rows offsets[g]..offsets[g+1]−1. */
export function gameRowOffsets(game: Int32Array, games: number): Int32Array {
  const offsets = new Int32Array(games + 1);
  for (let r = 0; r < game.length; r++) {
    const g = game[r];
    if (g < 0 || g >= games || (r > 0 && g < game[r - 1])) throw new LinearProbeError(`row ${r} belongs to game ${g}: games must ascend within 0..${games - 1}`);
    offsets[g + 1]++;
  }
  for (let g = 0; g < games; g++) offsets[g + 1] += offsets[g];
  return offsets;
}

/** Training rows: activations and labels of the scored positions, grouped by game (rows of game g contiguous). */
export interface ProbeTrainingData {
  activations: Float32Array; // [rows, dIn]
  labels: Uint8Array; // [rows, 64] class per square (probeLabels)
  gameOffsets: Int32Array; // [games + 1] (gameRowOffsets)
}

export interface ProbeTrainingResult {
  probe: LinearProbe;
  /** Mean batch loss of each epoch. */
  epochLosses: number[];
  /** The last epoch's mean batch loss. */
  finalTrainLoss: number;
  steps: number;
}

/** spec §9: AdamW on batches of `batchGames` games in a fresh seeded order each epoch (train_test_chess.py randperm). */
export function trainLinearProbe(
  kernels: Kernels,
  fn: BspFunction,
  dIn: number,
  data: ProbeTrainingData,
  options: Partial<ProbeTrainingOptions> = {},
): ProbeTrainingResult {
  const settings: ProbeTrainingOptions = { ...PROBE_TRAINING_DEFAULTS, ...options };
  for (const key of ["epochs", "batchGames"] as const) {
    if (!Number.isInteger(settings[key]) || settings[key] < 1) throw new LinearProbeError(`${key} must be a positive integer, got ${settings[key]}`);
  }
  const games = data.gameOffsets.length - 1;
  const rows = data.gameOffsets[games];
  if (rows === 0) throw new LinearProbeError("no training positions");
  checkInput(dIn, data.activations, rows);
  if (data.labels.length < rows * SQUARES) throw new LinearProbeError(`labels hold ${data.labels.length} squares, ${rows} rows need ${rows * SQUARES}`);

  const random = probeRandom(settings.seed);
  const probe = initLinearProbe(fn, dIn, random);
  const width = bspWidth(fn);
  let maxBatchRows = 0; // the largest batch any order can make: the batchGames largest games
  const sizes = Array.from({ length: games }, (_, g) => data.gameOffsets[g + 1] - data.gameOffsets[g]).sort((a, b) => b - a);
  for (let i = 0; i < Math.min(settings.batchGames, games); i++) maxBatchRows += sizes[i];
  const batchActivations = new Float32Array(maxBatchRows * dIn);
  const batchLabels = new Uint8Array(maxBatchRows * SQUARES);
  const scratch = new Float32Array(maxBatchRows * width);
  const grad = { weight: new Float32Array(probe.weight.length), bias: new Float32Array(width) };
  const moments = [probe.weight, probe.bias].map((param) => ({ m: new Float32Array(param.length), v: new Float32Array(param.length) }));
  const order = Int32Array.from({ length: games }, (_, g) => g);
  const epochLosses: number[] = [];
  let steps = 0;
  for (let epoch = 0; epoch < settings.epochs; epoch++) {
    for (let i = games - 1; i > 0; i--) {
      const j = randomBelow(random, i + 1); // Fisher–Yates from the identity each epoch, like a fresh randperm
      [order[i], order[j]] = [order[j], order[i]];
    }
    let lossSum = 0;
    let batches = 0;
    for (let start = 0; start < games; start += settings.batchGames) {
      let batchRows = 0;
      for (let b = start; b < Math.min(start + settings.batchGames, games); b++) {
        const from = data.gameOffsets[order[b]];
        const count = data.gameOffsets[order[b] + 1] - from;
        batchActivations.set(data.activations.subarray(from * dIn, (from + count) * dIn), batchRows * dIn);
        batchLabels.set(data.labels.subarray(from * SQUARES, (from + count) * SQUARES), batchRows * SQUARES);
        batchRows += count;
      }
      if (batchRows === 0) continue; // games without scored positions (short chess games) teach nothing
      lossSum += probeLoss(kernels, probe, batchActivations, batchLabels, batchRows, grad, scratch);
      batches++;
      steps++;
      const step = { lr: settings.lr, beta1: settings.beta1, beta2: settings.beta2, eps: settings.eps, step: steps, weightDecay: settings.weightDecay };
      kernels.adam(probe.weight, grad.weight, moments[0].m, moments[0].v, step);
      kernels.adam(probe.bias, grad.bias, moments[1].m, moments[1].v, step);
    }
    epochLosses.push(lossSum / batches);
  }
  return { probe, epochLosses, finalTrainLoss: epochLosses[epochLosses.length - 1], steps };
}

/** argmax class per square [rows, 64] (the lowest class on ties, as torch.argmax). */
export function predictProbeClasses(kernels: Kernels, probe: LinearProbe, activations: Float32Array, rows: number): Uint8Array {
  checkInput(probe.dIn, activations, rows);
  const classes = probe.fn.classes;
  const width = probe.bias.length;
  const predicted = new Uint8Array(rows * SQUARES);
  const logits = new Float32Array(Math.min(rows, PREDICT_CHUNK_ROWS) * width);
  for (let start = 0; start < rows; start += PREDICT_CHUNK_ROWS) {
    const count = Math.min(PREDICT_CHUNK_ROWS, rows - start);
    probeLogits(kernels, probe, activations.subarray(start * probe.dIn, (start + count) * probe.dIn), count, logits);
    for (let cell = 0; cell < count * SQUARES; cell++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (logits[cell * classes + c] > logits[cell * classes + best]) best = c;
      predicted[start * SQUARES + cell] = best;
    }
  }
  return predicted;
}

/**
 * spec §9: predicted classes [rows, 64] → one-hot [rows, 64·C] with the board function's masks: Othello
 * `mine_masked` zeroes the empty class; chess `piece_masked` blanks a piece predicted on its initial square, then
 * zeroes the empty class (boards.md §3.4).
 */
export function maskedBoardPrediction(board: BspFunction, classes: Uint8Array, rows: number): Uint8Array {
  const width = bspWidth(board);
  const out = new Uint8Array(rows * width);
  const initialSquare = board === chessPieceMasked;
  if (!initialSquare && board !== othelloMineMasked) {
    throw new LinearProbeError(`"${board.game}.${board.id}" is not a probe's board function (othello.mine_masked, chess.piece_masked)`);
  }
  const masked = board.maskedClasses;
  for (let cell = 0; cell < rows * SQUARES; cell++) {
    const cls = classes[cell];
    if (cls >= board.classes) throw new LinearProbeError(`row ${Math.floor(cell / SQUARES)}, square ${cell % SQUARES}: class ${cls} ≥ ${board.classes}`);
    if (masked.includes(cls)) continue;
    if (initialSquare && cls - EMPTY_CLASS === INITIAL_BOARD_VALUES[cell % SQUARES]) continue; // on its initial square → blank
    out[cell * board.classes + cls] = 1;
  }
  return out;
}

export interface ProbeEvaluation {
  /** Per-square accuracy over all classes of the probe function, over rows × 64. */
  accuracy: number;
  /** spec §8 step 4 F1_class of the masked prediction against the board function (no per-square adjustment). */
  reconstruction: number;
  tp: number;
  fp: number;
  fn: number;
  positions: number;
}

/**
 * spec §9 evaluation of a probe on activations [rows, dIn] at scored positions; `truth` holds the tables of the
 * probe function and of the board function (fn.id → [rows, W]), e.g. scoredPositions(games, [probe, board]).truth.
 */
export function evaluateLinearProbe(
  kernels: Kernels,
  probe: LinearProbe,
  activations: Float32Array,
  truth: ReadonlyMap<string, Uint8Array>,
  rows: number,
): ProbeEvaluation {
  const board = boardFunctionOf(probe.fn.game);
  const probeTruth = truth.get(probe.fn.id);
  const boardTruth = truth.get(board.id);
  if (!probeTruth || !boardTruth) throw new LinearProbeError(`evaluation needs the truth of ${probe.fn.id} and ${board.id}, got ${[...truth.keys()].join(", ") || "none"}`);
  const labels = probeLabels(probe.fn, probeTruth, rows);
  const predicted = predictProbeClasses(kernels, probe, activations, rows);
  let correct = 0;
  for (let cell = 0; cell < rows * SQUARES; cell++) if (predicted[cell] === labels[cell]) correct++;
  const counts = microCounts(board, boardTruth, maskedBoardPrediction(board, predicted, rows), rows);
  return {
    accuracy: rows === 0 ? 0 : correct / (rows * SQUARES),
    reconstruction: f1Score(counts.tp, counts.fp, counts.fn),
    tp: counts.tp,
    fp: counts.fp,
    fn: counts.fn,
    positions: rows,
  };
}

/** A probe's tensors as stored in probe.safetensors: `<hook>.W` [dIn, 64·C] and `<hook>.b` [64·C], F32. */
export function linearProbeTensors(hook: string, probe: LinearProbe): [string, SafetensorsTensor][] {
  return [
    [`${hook}.W`, { dtype: "F32", shape: [probe.dIn, probe.bias.length], data: probe.weight }],
    [`${hook}.b`, { dtype: "F32", shape: [probe.bias.length], data: probe.bias }],
  ];
}

/** The metadata stored next to the tensors: the game picks the probe function when reading them back. */
export function linearProbeMetadata(game: GameKind, model: string): Record<string, string> {
  return { game, function: probeFunctionOf(game).id, model };
}

/** The probes of a probe.safetensors, hook → probe; a tensor without its pair or of the wrong shape is an error. */
export async function readLinearProbes(file: string): Promise<Map<string, LinearProbe>> {
  const { tensors, metadata } = await readSafetensors(file);
  const game = metadata.game;
  if (game !== "othello" && game !== "chess") throw new LinearProbeError(`${file}: __metadata__.game must be othello or chess, found ${JSON.stringify(game)}`);
  const fn = probeFunctionOf(game);
  const width = bspWidth(fn);
  const probes = new Map<string, LinearProbe>();
  for (const [name, weight] of tensors) {
    const hook = name.replace(/\.[Wb]$/, "");
    const bias = tensors.get(`${hook}.b`);
    const pair = tensors.get(`${hook}.W`);
    const fail = (detail: string): never => {
      throw new LinearProbeError(`${file}: probe "${hook}": ${detail}`);
    };
    if (hook === name || !bias || !pair) fail(`expected the tensors ${hook}.W and ${hook}.b, found ${name} alone`);
    if (name.endsWith(".b")) continue;
    if (weight.dtype !== "F32" || bias!.dtype !== "F32") fail(`tensors must be F32, found ${weight.dtype} and ${bias!.dtype}`);
    if (weight.shape.length !== 2 || weight.shape[1] !== width || bias!.shape.join() !== String(width)) {
      fail(`shapes [${weight.shape.join(", ")}] and [${bias!.shape.join(", ")}], a ${game} ${fn.id} probe needs [d, ${width}] and [${width}]`);
    }
    probes.set(hook, { fn, dIn: weight.shape[0], weight: weight.data as Float32Array, bias: bias!.data as Float32Array });
  }
  return probes;
}
