// Training a GPT on a game dataset (spec model.md §4): AdamW with PyTorch semantics, nanoGPT's warm-up + cosine
// schedule, batches counted in tokens and split into micro-batches, global gradient-norm clipping, periodic
// evaluation, checkpoints with Adam moments, and exact resume (the data order is a function of seed and step).

import { appendFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { GameRow } from "../boards/game-dataset.js";
import type { Kernels } from "../compute/kernels.js";
import { kernels as selectedKernels } from "../compute/select.js";
import { configText, loadGpt, saveGpt } from "./checkpoint.js";
import type { GptConfig, GptPresetName } from "./config.js";
import { evaluateModel, maskedCrossEntropySum, type ModelEvaluation } from "./evaluate.js";
import { forward, type Gpt } from "./gpt.js";
import { parameterSpecs } from "./init.js";
import { encodeSafetensors, readSafetensors, type SafetensorsTensor } from "./safetensors.js";
import { gatherSequences, SequenceOrder, tokenSequences } from "./training-data.js";

const positiveInt = z.number().int().positive();

const trainSettingsFields = z.strictObject({
  batchTokens: positiveInt,
  microBatch: positiveInt,
  trainTokens: positiveInt,
  peakLr: z.number().positive(),
  /** Minimum learning rate as a fraction of the peak (nanoGPT: 1/10). */
  minLrRatio: z.number().min(0).max(1),
  warmupSteps: z.number().int().nonnegative(),
  weightDecay: z.number().min(0),
  beta1: z.number().min(0).lt(1),
  beta2: z.number().min(0).lt(1),
  eps: z.number().positive(),
  gradClip: z.number().positive().nullable(),
  evalEvery: positiveInt,
  /** Validation games used by each evaluation (the first of the `val` split). */
  evalGames: positiveInt,
  /** Chess: games of those whose greedy continuations give the legal-move rate (default all evalGames; slow). */
  legalEvalGames: positiveInt.optional(),
  /** Checkpoint interval in steps; defaults to evalEvery. */
  checkpointEvery: positiveInt.optional(),
  /** Data-order seed. */
  seed: z.number().int().min(0).max(0xffffffff),
});

/** Defaults: the othello-4l-128 row of spec §4's table and nanoGPT's optimizer settings. */
export const DEFAULT_TRAIN_SETTINGS = {
  batchTokens: 4096, microBatch: 32, trainTokens: 12_000_000, peakLr: 1e-3, minLrRatio: 0.1, warmupSteps: 100,
  weightDecay: 0.1, beta1: 0.9, beta2: 0.95, eps: 1e-8, gradClip: 1.0, evalEvery: 250, evalGames: 1000, seed: 0,
} as const;

/** Some training settings, without defaults (a config's `train:` slice: what it leaves out comes from elsewhere). */
export const trainOverridesSchema = trainSettingsFields.partial();

/** Training settings (spec §4): given fields over DEFAULT_TRAIN_SETTINGS. */
export const trainSettingsSchema = trainOverridesSchema.transform((given) => trainSettingsFields.parse({ ...DEFAULT_TRAIN_SETTINGS, ...given }));
export type TrainSettings = z.output<typeof trainSettingsSchema>;
export type TrainSettingsInput = z.input<typeof trainSettingsSchema>;

/** Spec §4's table: the recipe per preset. */
export const PRESET_TRAIN_SETTINGS: Partial<Record<GptPresetName, TrainSettingsInput>> = {
  "othello-4l-128": { batchTokens: 4096, microBatch: 32, trainTokens: 12_000_000, peakLr: 1e-3, warmupSteps: 100, evalEvery: 250 },
  "chess-4l-128": { batchTokens: 4096, microBatch: 8, trainTokens: 8_000_000, peakLr: 1e-3, warmupSteps: 100, evalEvery: 250 },
  "othello-2l-64": { batchTokens: 2048, microBatch: 32, trainTokens: 200_000, peakLr: 3e-3, warmupSteps: 10, evalEvery: 50 },
  "chess-2l-64": { batchTokens: 2048, microBatch: 32, trainTokens: 200_000, peakLr: 3e-3, warmupSteps: 10, evalEvery: 50 },
};

/** Sequences per optimizer step S and total steps (spec §4). */
export function stepGeometry(settings: TrainSettings, nCtx: number): { sequencesPerStep: number; steps: number } {
  const sequencesPerStep = Math.max(1, Math.round(settings.batchTokens / nCtx));
  return { sequencesPerStep, steps: Math.ceil(settings.trainTokens / (sequencesPerStep * nCtx)) };
}

/** nanoGPT get_lr for step `it` (from 0) of `total`. */
export function learningRate(settings: TrainSettings, it: number, total: number): number {
  const peak = settings.peakLr;
  const W = settings.warmupSteps;
  if (it < W) return (peak * (it + 1)) / (W + 1);
  const minLr = peak * settings.minLrRatio;
  const r = total > W ? Math.min(1, (it - W) / (total - W)) : 1;
  return minLr + 0.5 * (1 + Math.cos(Math.PI * r)) * (peak - minLr);
}

export interface TrainProgress {
  step: number;
  steps: number;
  tokens: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** Seconds of training so far, over all attempts. */
  elapsed: number;
}

export interface TrainEvaluation extends ModelEvaluation {
  step: number;
}

export interface TrainOptions {
  /** Model to train (its current weights are the init); replaced by the checkpoint's when resuming. */
  model: Gpt;
  settings: TrainSettingsInput;
  train: readonly GameRow[];
  val: readonly GameRow[];
  /** Output directory: `model/` at the end, `checkpoint/` while running, `metrics.jsonl`. */
  out: string;
  kernels?: Kernels;
  signal?: AbortSignal;
  /** Stop (after checkpointing) once this many steps are done; for tests of resume. */
  stopAfterSteps?: number;
  onStep?(progress: TrainProgress): void;
  onEval?(evaluation: TrainEvaluation): void;
  log?(message: string): void;
}

export interface TrainResult {
  model: Gpt;
  steps: number;
  tokens: number;
  finalEval: TrainEvaluation;
  elapsed: number;
  resumedFrom: number | null;
  /** True when stopAfterSteps or the signal ended the run before its last step. */
  interrupted: boolean;
}

export const TRAIN_CHECKPOINT_DIR = "checkpoint";
export const TRAIN_MODEL_DIR = "model";
export const TRAIN_METRICS_FILE = "metrics.jsonl";
const TRAINING_STATE_FILE = "training_state.safetensors";

interface OptimizerState {
  step: number;
  elapsed: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

/**
 * Trains `options.model` in place. A `checkpoint/` left in `out` by an interrupted run with the same settings is
 * resumed from: weights, Adam moments, step and data cursor, so the result is bit-identical to an uninterrupted run.
 */
export async function trainGpt(options: TrainOptions): Promise<TrainResult> {
  const settings = trainSettingsSchema.parse(options.settings);
  const compute = options.kernels ?? (await selectedKernels()).kernels;
  let model = options.model;
  const { tf, config } = model;
  const T = config.n_ctx;
  const { sequencesPerStep: S, steps } = stepGeometry(settings, T);
  const checkpointEvery = settings.checkpointEvery ?? settings.evalEvery;
  const data = tokenSequences(config, options.train);
  const valRows = options.val.slice(0, settings.evalGames);
  if (valRows.length === 0) throw new Error("training needs validation games (the dataset's val split is empty)");
  const order = new SequenceOrder(data.count, settings.seed);
  const log = options.log ?? (() => {});
  await mkdir(options.out, { recursive: true });
  const checkpointDir = path.join(options.out, TRAIN_CHECKPOINT_DIR);
  const metricsFile = path.join(options.out, TRAIN_METRICS_FILE);
  const settingsText = JSON.stringify(settings);

  const specs = parameterSpecs(config).filter((spec) => spec.trainable);
  let state: OptimizerState = {
    step: 0,
    elapsed: 0,
    m: new Map(specs.map((spec) => [spec.name, new Float32Array(sizeOf(spec.shape))])),
    v: new Map(specs.map((spec) => [spec.name, new Float32Array(sizeOf(spec.shape))])),
  };
  let resumedFrom: number | null = null;
  if (existsSync(path.join(checkpointDir, TRAINING_STATE_FILE))) {
    const restored = await loadTrainingCheckpoint(model, checkpointDir, settingsText);
    for (const variable of model.params.values()) variable.dispose();
    model = restored.model;
    state = restored.state;
    resumedFrom = state.step;
    await truncateMetrics(metricsFile, state.step);
    log(`resuming from the checkpoint at step ${state.step} of ${steps}`);
  } else {
    await rm(metricsFile, { force: true });
  }

  const writeMetric = (record: Record<string, unknown>) => appendFile(metricsFile, JSON.stringify(record) + "\n");
  const evaluate = async (step: number): Promise<TrainEvaluation> => {
    const evaluation = { step, ...evaluateModel(model, valRows, 64, { seed: settings.seed, legalGames: settings.legalEvalGames }) };
    await writeMetric({ type: "eval", step, val_loss: evaluation.loss, legal_rate: evaluation.legalRate, games: evaluation.games, positions: evaluation.positions });
    options.onEval?.(evaluation);
    return evaluation;
  };

  const trainable = specs.map((spec) => ({ spec, variable: model.params.get(spec.name)! }));
  const gradients = new Map(specs.map((spec) => [spec.name, new Float32Array(sizeOf(spec.shape))]));
  let lastEval: TrainEvaluation | null = null;
  let interrupted = false;
  let segmentStart = performance.now();
  const elapsed = () => state.elapsed + (performance.now() - segmentStart) / 1000;

  while (state.step < steps) {
    if (options.signal?.aborted || (options.stopAfterSteps !== undefined && state.step >= options.stopAfterSteps)) {
      interrupted = true;
      break;
    }
    const it = state.step;
    const lr = learningRate(settings, it, steps);
    for (const buffer of gradients.values()) buffer.fill(0);
    let lossSum = 0;
    let counted = 0;
    for (let first = 0; first < S; first += settings.microBatch) {
      const size = Math.min(settings.microBatch, S - first);
      const indices = Array.from({ length: size }, (_, j) => order.at(it * S + first + j));
      const batch = gatherSequences(data, indices);
      for (let i = 0; i < batch.mask.length; i++) counted += batch.mask[i];
      const { value, grads } = tf.tidy(() =>
        tf.variableGrads(() => {
          // Dropout masks are a function of (seed, step, micro-batch): a resumed run draws the same ones.
          const training = config.dropout > 0 ? { dropout: config.dropout, seed: dropoutSeed(settings.seed, it, first) } : undefined;
          const logits = forward(model, tf.tensor2d(batch.inputs, [size, T], "int32"), undefined, training);
          return maskedCrossEntropySum(tf, logits, tf.tensor2d(batch.targets, [size, T], "int32"), tf.tensor2d(batch.mask, [size, T], "float32"));
        }, trainable.map(({ variable }) => variable)),
      );
      lossSum += value.dataSync()[0];
      value.dispose();
      for (const { spec, variable } of trainable) {
        const grad = grads[variable.name];
        const values = grad.dataSync() as Float32Array;
        const into = gradients.get(spec.name)!;
        for (let i = 0; i < values.length; i++) into[i] += values[i];
      }
      tf.dispose(Object.values(grads));
    }
    // Every target token weighs the same regardless of micro-batching: divide the summed gradient by the count.
    const scale = counted > 0 ? 1 / counted : 0;
    let squares = 0;
    for (const buffer of gradients.values()) {
      for (let i = 0; i < buffer.length; i++) {
        buffer[i] *= scale;
        squares += buffer[i] * buffer[i];
      }
    }
    const gradNorm = Math.sqrt(squares);
    // torch.nn.utils.clip_grad_norm_: coefficient max_norm / (norm + 1e-6), applied only when below 1.
    const clip = settings.gradClip !== null ? settings.gradClip / (gradNorm + 1e-6) : 1;
    for (const { spec, variable } of trainable) {
      const grad = gradients.get(spec.name)!;
      if (clip < 1) for (let i = 0; i < grad.length; i++) grad[i] *= clip;
      const param = new Float32Array(variable.dataSync());
      compute.adam(param, grad, state.m.get(spec.name)!, state.v.get(spec.name)!, {
        lr, beta1: settings.beta1, beta2: settings.beta2, eps: settings.eps, step: it + 1,
        weightDecay: spec.shape.length >= 2 ? settings.weightDecay : 0, // nanoGPT: decay matrices and embeddings only
      });
      tf.tidy(() => variable.assign(tf.tensor(param, variable.shape, "float32")));
    }
    state.step = it + 1;
    const loss = counted > 0 ? lossSum / counted : NaN;
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      throw new Error(`training diverged at step ${state.step}: loss ${loss}, gradient norm ${gradNorm}; the last checkpoint is kept in ${checkpointDir}`);
    }
    const progress = { step: state.step, steps, tokens: state.step * S * T, loss, lr, gradNorm, elapsed: elapsed() };
    await writeMetric({ type: "train", step: state.step, loss, lr, grad_norm: gradNorm, tokens: progress.tokens, elapsed_s: round3(progress.elapsed) });
    options.onStep?.(progress);
    const last = state.step === steps;
    if (state.step % settings.evalEvery === 0 || last) lastEval = await evaluate(state.step);
    if (state.step % checkpointEvery === 0 || last) {
      state.elapsed = elapsed();
      segmentStart = performance.now();
      await saveTrainingCheckpoint(model, checkpointDir, state, settingsText);
    }
  }

  if (interrupted) {
    // Keep what was done: a checkpoint at the current step, unless one was just written.
    state.elapsed = elapsed();
    segmentStart = performance.now();
    if (state.step > 0 && state.step % checkpointEvery !== 0) await saveTrainingCheckpoint(model, checkpointDir, state, settingsText);
    return { model, steps: state.step, tokens: state.step * S * T, finalEval: lastEval ?? { step: state.step, ...evaluateModel(model, valRows, 64, { seed: settings.seed, legalGames: settings.legalEvalGames }) }, elapsed: state.elapsed, resumedFrom, interrupted };
  }

  const finalEval = lastEval ?? (await evaluate(state.step));
  const totalElapsed = elapsed();
  const trainedConfig: GptConfig = {
    ...config,
    // A model that was already trained (a continuation) keeps its earlier recipe under continued_from.
    training: { ...settings, steps, sequences_per_step: S, tokens: steps * S * T, train_games: data.count, ...(config.training ? { continued_from: config.training } : {}) },
    metrics: { step: finalEval.step, val_loss: finalEval.loss, legal_rate: finalEval.legalRate, val_games: finalEval.games, val_positions: finalEval.positions },
  };
  const trained: Gpt = { ...model, config: trainedConfig };
  await saveGpt(trained, path.join(options.out, TRAIN_MODEL_DIR));
  await rm(checkpointDir, { recursive: true, force: true });
  return { model: trained, steps, tokens: steps * S * T, finalEval, elapsed: totalElapsed, resumedFrom, interrupted: false };
}

async function saveTrainingCheckpoint(model: Gpt, dir: string, state: OptimizerState, settingsText: string): Promise<void> {
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, m] of state.m) {
    const shape = [...model.params.get(name)!.shape];
    tensors.set(`adam.m.${name}`, { dtype: "F32", shape, data: m });
    tensors.set(`adam.v.${name}`, { dtype: "F32", shape, data: state.v.get(name)! });
  }
  tensors.set("step", { dtype: "I64", shape: [], data: BigInt64Array.of(BigInt(state.step)) });
  tensors.set("elapsed_s", { dtype: "F64", shape: [], data: Float64Array.of(state.elapsed) });
  const bytes = encodeSafetensors(tensors, { producer: "sae-circuits", settings: settingsText, config: configText(model.config) });
  await saveGpt(model, dir, { [TRAINING_STATE_FILE]: bytes });
}

async function loadTrainingCheckpoint(
  model: Gpt,
  dir: string,
  settingsText: string,
): Promise<{ model: Gpt; state: OptimizerState }> {
  const file = path.join(dir, TRAINING_STATE_FILE);
  const saved = await readSafetensors(file);
  if (saved.metadata.settings !== settingsText) {
    throw new Error(`${file}: the checkpoint was made with other training settings (${saved.metadata.settings}); ` +
      `remove ${dir} to start over, or use the settings it was made with`);
  }
  if (saved.metadata.config !== configText(model.config)) {
    throw new Error(`${file}: the checkpoint was made for another model config; remove ${dir} to start over`);
  }
  const restored = await loadGpt(model.tf, dir);
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  for (const spec of parameterSpecs(model.config).filter((s) => s.trainable)) {
    for (const [kind, into] of [["m", m], ["v", v]] as const) {
      const tensor = saved.tensors.get(`adam.${kind}.${spec.name}`);
      if (!tensor || !(tensor.data instanceof Float32Array) || tensor.data.length !== sizeOf(spec.shape)) {
        throw new Error(`${file}: tensor "adam.${kind}.${spec.name}" is missing or not F32 [${spec.shape.join(", ")}]`);
      }
      into.set(spec.name, new Float32Array(tensor.data));
    }
  }
  const step = saved.tensors.get("step")?.data;
  const elapsed = saved.tensors.get("elapsed_s")?.data;
  if (!(step instanceof BigInt64Array) || !(elapsed instanceof Float64Array)) throw new Error(`${file}: tensors "step" (I64) and "elapsed_s" (F64) are required`);
  return { model: restored, state: { step: Number(step[0]), elapsed: elapsed[0], m, v } };
}

/** Drops metric lines after `step` (written by the interrupted attempt after its last checkpoint). */
async function truncateMetrics(file: string, step: number): Promise<void> {
  if (!existsSync(file)) return;
  const lines = (await readFile(file, "utf8")).split("\n").filter((line) => line.trim() !== "");
  const kept = lines.filter((line) => {
    try {
      return (JSON.parse(line) as { step: number }).step <= step;
    } catch {
      return false; // a line cut short by the kill
    }
  });
  await writeFile(file, kept.map((line) => line + "\n").join(""));
}

function dropoutSeed(seed: number, step: number, firstSequence: number): number {
  return (((seed * 1_000_003) % 2_147_483_647) + step * 65_537 + firstSequence * 131) % 2_147_483_647;
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

