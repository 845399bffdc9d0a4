// The `model` stage: a GPT for the games of the `games` stage — trained from a preset with the recipe of spec
// model.md §4, or an existing checkpoint directory (the shipped default) copied in and evaluated on the val split.

import { createHash } from "node:crypto";
import { cp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import type { GameRow } from "../../boards/game-dataset.js";
import { readDatasetDirectory } from "../../boards/dataset-directory.js";
import { initTfjs } from "../../compute/tfjs.js";
import { loadGpt, MODEL_CONFIG_FILE, MODEL_WEIGHTS_FILE } from "../../model/checkpoint.js";
import { GPT_PRESETS, presetConfig, type GptPresetName } from "../../model/config.js";
import { evaluateModel, type ModelEvaluation } from "../../model/evaluate.js";
import { createGpt, disposeGpt, type Gpt } from "../../model/gpt.js";
import { PRESET_TRAIN_SETTINGS, trainGpt, trainOverridesSchema, trainSettingsSchema, TRAIN_MODEL_DIR, type TrainProgress } from "../../model/train.js";
import { defineStage } from "../stage.js";
import { DATASET_DIR } from "./games.js";

const presetNames = Object.keys(GPT_PRESETS) as [GptPresetName, ...GptPresetName[]];

export const modelStageConfigSchema = z.strictObject({
  /** An existing checkpoint directory (config.json + model.safetensors) to use instead of training one. */
  checkpoint: z.string().min(1).optional(),
  /** Continue training from this checkpoint's weights (a second stage with its own schedule) instead of an init. */
  initFrom: z.string().min(1).optional(),
  /** Preset to train when no checkpoint is given. */
  preset: z.enum(presetNames).default("othello-4l-128"),
  /** Init seed of the trained model. */
  seed: z.number().int().min(0).max(0xffffffff).default(42),
  /** Training settings; anything left out comes from the preset's row of spec §4. */
  train: trainOverridesSchema.default({}),
  /** Validation games for the evaluation of a given checkpoint. */
  evalGames: z.number().int().positive().default(1000),
});
export type ModelStageConfig = z.output<typeof modelStageConfigSchema>;

export interface ModelJobHooks {
  signal?: AbortSignal;
  progress?(done: number, total: number, unit: string): void;
  onStep?(progress: TrainProgress): void;
  onEval?(evaluation: ModelEvaluation & { step: number }): void;
  log?(message: string): void;
}

export interface ModelJobResult {
  evaluation: ModelEvaluation;
  steps: number;
  seconds: number;
}

/** The training settings a model config resolves to: the preset's table row, then the config's own fields. */
export function resolvedTrainSettings(config: ModelStageConfig) {
  return trainSettingsSchema.parse({ seed: config.seed, ...PRESET_TRAIN_SETTINGS[config.preset], ...config.train });
}

/** Trains (or copies and evaluates) the model of `config` on the dataset in `datasetDir`; writes `<out>/model/`. */
export async function runModelJob(config: ModelStageConfig, datasetDir: string, out: string, hooks: ModelJobHooks = {}): Promise<ModelJobResult> {
  const { tf } = await initTfjs();
  const read = (split: "train" | "val"): Promise<GameRow[]> => readDatasetDirectory(datasetDir, [split], { checkOthelloMoves: false });
  if (config.checkpoint !== undefined) {
    const model = await loadGpt(tf, config.checkpoint);
    try {
      const val = (await read("val")).slice(0, config.evalGames);
      const evaluation = evaluateModel(model, val);
      await cp(config.checkpoint, path.join(out, TRAIN_MODEL_DIR), { recursive: true });
      await writeFile(path.join(out, "eval.json"), JSON.stringify({ checkpoint: config.checkpoint, ...evaluation }, null, 2) + "\n");
      return { evaluation, steps: 0, seconds: 0 };
    } finally {
      disposeGpt(model);
    }
  }
  const settings = resolvedTrainSettings(config);
  let start: Gpt;
  if (config.initFrom !== undefined) {
    const loaded = await loadGpt(tf, config.initFrom);
    // The earlier recipe and metrics end up under training.continued_from of the result.
    start = { ...loaded, config: { ...loaded.config, training: { ...(loaded.config.training ?? {}), checkpoint: config.initFrom, metrics: loaded.config.metrics }, metrics: null } };
  } else {
    start = createGpt(tf, presetConfig(config.preset, config.seed));
  }
  const [train, val] = [await read("train"), await read("val")];
  hooks.log?.(`training ${config.initFrom ? `from ${config.initFrom}` : config.preset} on ${train.length} games (validation: ${Math.min(val.length, settings.evalGames)})`);
  const result = await trainGpt({
    model: start,
    settings,
    train,
    val,
    out,
    signal: hooks.signal,
    log: hooks.log,
    onStep(progress) {
      hooks.progress?.(progress.tokens, progress.steps * (progress.tokens / progress.step), "tokens");
      hooks.onStep?.(progress);
    },
    onEval: hooks.onEval,
  });
  disposeGpt(result.model);
  if (result.interrupted) throw new Error("training was interrupted; run again to resume from the last checkpoint");
  await writeFile(path.join(out, "eval.json"), JSON.stringify(result.finalEval, null, 2) + "\n");
  return { evaluation: result.finalEval, steps: result.steps, seconds: result.elapsed };
}

async function sha256(file: string): Promise<string> {
  return createHash("sha256").update(await readFile(file)).digest("hex");
}

export const modelStage = defineStage({
  name: "model",
  version: "1",
  description: "train a GPT on the games (spec model.md §4), or evaluate a given checkpoint on them",
  configSchema: modelStageConfigSchema,
  inputs: ["games"],
  // A given checkpoint enters the key by content: replacing its weights reruns the stage.
  async fingerprint(config) {
    const dir = config.checkpoint ?? config.initFrom;
    if (dir === undefined) return undefined;
    return {
      config: await sha256(path.join(dir, MODEL_CONFIG_FILE)).catch(() => "missing"),
      weights: await sha256(path.join(dir, MODEL_WEIGHTS_FILE)).catch(() => "missing"),
    };
  },
  async run({ config, inputs, dir, signal, progress, metric, log }) {
    const result = await runModelJob(config, path.join(inputs.games.dir, DATASET_DIR), dir, {
      signal,
      progress,
      log,
      onStep: (p) => metric("loss", p.loss, p.step),
      onEval: (e) => {
        metric("val_loss", e.loss, e.step);
        if (e.legalRate !== null) metric("legal_rate", e.legalRate, e.step);
      },
    });
    const metrics: Record<string, number> = { valLoss: result.evaluation.loss, steps: result.steps, seconds: result.seconds };
    if (result.evaluation.legalRate !== null) metrics.legalRate = result.evaluation.legalRate;
    return { outputs: { model: TRAIN_MODEL_DIR, eval: "eval.json", ...(result.steps > 0 ? { metrics: "metrics.jsonl" } : {}) }, metrics };
  },
});
