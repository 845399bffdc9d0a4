// The `probe` stage: the linear-probe baseline of spec board-metrics.md §9 — per hook a per-square softmax probe
// trained on the first games of `val`, scored on the reconstruction set of `test` like a dictionary (§8 steps 3–4).
// `saec probe train` runs the same job on any checkpoint and dataset.

import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { readDatasetDirectory, readDatasetManifest } from "../../boards/dataset-directory.js";
import {
  evaluateLinearProbe, gameRowOffsets, linearProbeMetadata, linearProbeTensors, probeLabels, PROBE_TRAINING_DEFAULTS, trainLinearProbe,
  type ProbeEvaluation,
} from "../../boards/metrics/linear-probe.js";
import { boardFunctionOf, evaluationSets, probeFunctionOf, scoredActivations, scoredPositions } from "../../boards/metrics/scored-games.js";
import { SPLITS } from "../../boards/splits.js";
import { kernels as selectedKernels } from "../../compute/select.js";
import { initTfjs } from "../../compute/tfjs.js";
import { cacheRowWidth } from "../../data/activation-cache.js";
import { writeFileAtomic, writeJsonAtomic } from "../../io/atomic-write.js";
import { loadGpt, loadGptConfig, replaceDirectory } from "../../model/checkpoint.js";
import { disposeGpt } from "../../model/gpt.js";
import { encodeSafetensors, type SafetensorsTensor } from "../../model/safetensors.js";
import { TRAIN_MODEL_DIR } from "../../model/train.js";
import { defineStage } from "../stage.js";
import { DATASET_DIR } from "./games.js";

export const PROBE_WEIGHTS_FILE = "probe.safetensors";
export const PROBE_METRICS_FILE = "probe_metrics.json";
/** The stage's probes live in this subdirectory of the stage directory. */
export const PROBES_DIR = "probes";

/** A dataset of one game given with a model of the other; names both. */
export class ProbeGameMismatchError extends Error {
  constructor(readonly games: string, readonly datasetGame: string, readonly model: string, readonly modelGame: string) {
    super(`${games} holds ${datasetGame} games but the model ${model} plays ${modelGame}`);
    this.name = "ProbeGameMismatchError";
  }
}

export const probeStageConfigSchema = z.strictObject({
  /** Hooks to probe (default blocks.L.hook_resid_post for every layer L: the per-layer table). */
  hooks: z.array(z.string().min(1)).min(1).optional(),
  /** spec §9: trained on the first trainGames games of trainSplit (all if fewer). */
  trainSplit: z.enum(SPLITS).default("val"),
  trainGames: z.number().int().positive().default(10_000),
  /** Scored on the reconstruction set (the reconGames after the first labelGames) of evalSplit. */
  evalSplit: z.enum(SPLITS).default("test"),
  labelGames: z.number().int().positive().default(1000),
  reconGames: z.number().int().positive().default(1000),
  epochs: z.number().int().positive().default(PROBE_TRAINING_DEFAULTS.epochs),
  batchGames: z.number().int().positive().default(PROBE_TRAINING_DEFAULTS.batchGames),
  seed: z.number().int().min(0).default(PROBE_TRAINING_DEFAULTS.seed),
  /** Activations held at once; hooks beyond it take another model pass. */
  memoryMb: z.number().int().positive().default(4096),
});
export type ProbeJob = z.output<typeof probeStageConfigSchema>;

export interface ProbeHookMetrics extends Omit<ProbeEvaluation, "positions"> {
  final_train_loss: number;
  train_loss_by_epoch: number[];
}

/** probe_metrics.json */
export interface ProbeMetricsRecord {
  model: string;
  game: string;
  function: string;
  board_function: string;
  train: { split: string; games: number; positions: number; epochs: number; batch_games: number; lr: number; betas: [number, number]; eps: number; weight_decay: number; seed: number };
  eval: { split: string; games: number; positions: number };
  hooks: Record<string, ProbeHookMetrics>;
}

export function hookGroups(hooks: readonly string[], width: (hook: string) => number, rows: number, bytes: number): string[][] {
  const groups: string[][] = [];
  let used = Infinity;
  for (const hook of hooks) {
    const size = rows * width(hook) * 4;
    if (used + size > bytes) {
      groups.push([]);
      used = 0;
    }
    groups[groups.length - 1].push(hook);
    used += size;
  }
  return groups;
}

export function formatProbeTable(metrics: ProbeMetricsRecord): string {
  const rows = [["hook", "accuracy", "reconstruction", "tp", "fp", "fn", "train loss"]];
  for (const [hook, m] of Object.entries(metrics.hooks)) {
    rows.push([hook, m.accuracy.toFixed(4), m.reconstruction.toFixed(4), String(m.tp), String(m.fp), String(m.fn), m.final_train_loss.toFixed(4)]);
  }
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join("  ")).join("\n");
}

/** Trains and scores the probes of `job` on the checkpoint `modelDir` and the dataset `gamesDir`; writes `out` atomically. */
export async function runProbeJob(job: ProbeJob, modelDir: string, gamesDir: string, out: string): Promise<ProbeMetricsRecord> {
  const config = await loadGptConfig(modelDir);
  const manifest = await readDatasetManifest(gamesDir);
  if (manifest.game !== config.game) throw new ProbeGameMismatchError(gamesDir, manifest.game, config.model_name, config.game);
  const hooks = job.hooks ?? Array.from({ length: config.n_layers }, (_, l) => `blocks.${l}.hook_resid_post`);
  const widths = new Map(hooks.map((hook) => [hook, cacheRowWidth(config, hook)])); // unknown hooks name the valid ones

  const trainRows = (await readDatasetDirectory(gamesDir, [job.trainSplit], { checkOthelloMoves: false })).slice(0, job.trainGames);
  if (trainRows.length === 0) throw new RangeError(`${gamesDir}: split "${job.trainSplit}" holds no games to train on`);
  const evalRows = await readDatasetDirectory(gamesDir, [job.evalSplit], { checkOthelloMoves: false });
  const { recon } = evaluationSets(evalRows, `${gamesDir} split "${job.evalSplit}"`, { labelGames: job.labelGames, reconGames: job.reconGames });

  const probeFn = probeFunctionOf(config.game);
  const boardFn = boardFunctionOf(config.game);
  const trainPositions = scoredPositions(trainRows, [probeFn], { nCtx: config.n_ctx });
  const evalPositions = scoredPositions(recon, [probeFn, boardFn], { nCtx: config.n_ctx });
  const trainCount = trainPositions.game.length;
  const evalCount = evalPositions.game.length;
  const labels = probeLabels(probeFn, trainPositions.truth.get(probeFn.id)!, trainCount);
  const gameOffsets = gameRowOffsets(trainPositions.game, trainRows.length);

  const { kernels } = await selectedKernels();
  const model = await loadGpt((await initTfjs()).tf, modelDir);
  const tensors = new Map<string, SafetensorsTensor>();
  const results: Record<string, ProbeHookMetrics> = {};
  try {
    for (const group of hookGroups(hooks, (hook) => widths.get(hook)!, trainCount + evalCount, job.memoryMb * 2 ** 20)) {
      const trainActivations = scoredActivations(model, trainRows, trainPositions, group);
      const evalActivations = scoredActivations(model, recon, evalPositions, group);
      for (const hook of group) {
        const dIn = widths.get(hook)!;
        const trained = trainLinearProbe(kernels, probeFn, dIn, { activations: trainActivations.get(hook)!, labels, gameOffsets }, {
          epochs: job.epochs, batchGames: job.batchGames, seed: job.seed,
        });
        const { positions: _positions, ...evaluation } = evaluateLinearProbe(kernels, trained.probe, evalActivations.get(hook)!, evalPositions.truth, evalCount);
        results[hook] = { ...evaluation, final_train_loss: trained.finalTrainLoss, train_loss_by_epoch: trained.epochLosses };
        for (const [name, tensor] of linearProbeTensors(hook, trained.probe)) tensors.set(name, tensor);
        trainActivations.delete(hook);
        evalActivations.delete(hook);
      }
    }
  } finally {
    disposeGpt(model);
  }

  const metrics: ProbeMetricsRecord = {
    model: config.model_name,
    game: config.game,
    function: probeFn.id,
    board_function: boardFn.id,
    train: {
      split: job.trainSplit, games: trainRows.length, positions: trainCount, epochs: job.epochs, batch_games: job.batchGames,
      lr: PROBE_TRAINING_DEFAULTS.lr, betas: [PROBE_TRAINING_DEFAULTS.beta1, PROBE_TRAINING_DEFAULTS.beta2], eps: PROBE_TRAINING_DEFAULTS.eps,
      weight_decay: PROBE_TRAINING_DEFAULTS.weightDecay, seed: job.seed,
    },
    eval: { split: job.evalSplit, games: recon.length, positions: evalCount },
    hooks: results,
  };
  const temporary = `${out}.tmp-${process.pid}`;
  await rm(temporary, { recursive: true, force: true });
  await mkdir(temporary, { recursive: true });
  await writeFileAtomic(path.join(temporary, PROBE_WEIGHTS_FILE), encodeSafetensors(tensors, linearProbeMetadata(config.game, config.model_name)));
  await writeJsonAtomic(path.join(temporary, PROBE_METRICS_FILE), metrics);
  await replaceDirectory(temporary, out);
  return metrics;
}

export const probeStage = defineStage({
  name: "probe",
  version: "1",
  description: "linear probes of the board per layer (the supervised ceiling for board reconstruction)",
  configSchema: probeStageConfigSchema,
  inputs: ["games", "model"],
  async run({ config, inputs, dir, log }) {
    const metrics = await runProbeJob(config, path.join(inputs.model.dir, TRAIN_MODEL_DIR), path.join(inputs.games.dir, DATASET_DIR), path.join(dir, PROBES_DIR));
    log(formatProbeTable(metrics));
    const values: Record<string, number> = {};
    for (const [hook, result] of Object.entries(metrics.hooks)) {
      values[`${hook}.accuracy`] = result.accuracy;
      values[`${hook}.reconstruction`] = result.reconstruction;
    }
    return { outputs: { weights: path.join(PROBES_DIR, PROBE_WEIGHTS_FILE), metrics: path.join(PROBES_DIR, PROBE_METRICS_FILE) }, metrics: values };
  },
});
