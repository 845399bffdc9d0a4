// The `sae` stage: a sweep of SAEs (spec sae.md §1.5) trained in lock-step on one hook of the activations stage's
// cache, each saved as a SAELens directory (spec §4) and evaluated (spec §3) on held-out games of the games stage
// through the model stage's checkpoint: reconstruction metrics on their activations, loss recovered and KL by
// splicing. An interrupted attempt resumes from the sweep's last checkpoint. `saec sae train` runs the same job.

import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { readDatasetDirectory } from "../../boards/dataset-directory.js";
import { SPLITS } from "../../boards/splits.js";
import { kernels as selectedKernels } from "../../compute/select.js";
import { initTfjs } from "../../compute/tfjs.js";
import { batchActivations, cacheRowWidth } from "../../data/activation-cache.js";
import { readCacheManifest, type CacheManifest } from "../../data/cache-manifest.js";
import { CacheLoader } from "../../data/loader.js";
import { writeJsonAtomic } from "../../io/atomic-write.js";
import { loadGpt } from "../../model/checkpoint.js";
import { disposeGpt, type Gpt } from "../../model/gpt.js";
import { TRAIN_MODEL_DIR } from "../../model/train.js";
import { SAE_WEIGHTS_FILE, type SaeSite } from "../../sae/files.js";
import { readRows } from "../../sae/metrics.js";
import { runSweep, ResumeMismatchError, SWEEP_CHECKPOINT_FILE, sweepConfigSchema } from "../../sae/sweep.js";
import { saveSweepResults, SUMMARY_FILE, type EvalSet, type SweepSummaryRow } from "../../sae/sweep-results.js";
import { defineStage } from "../stage.js";
import { CACHE_DIR } from "./activations.js";
import { DATASET_DIR } from "./games.js";

/** The sweep's directory inside the stage directory: trainer_<i>/ SAELens directories and summary.json. */
export const SAES_DIR = "saes";
/** The data a sweep was started on; a rerun on other data is refused. */
export const SWEEP_DATA_FILE = "data.json";

export const saeEvalConfigSchema = z.strictObject({
  /** Held-out games (spec §3: 256 contexts) of this split, the first `games` of it. */
  split: z.enum(SPLITS).default("val"),
  games: z.number().int().positive().default(256),
  /** Games per model run. */
  batchSize: z.number().int().positive().default(32),
  /** Splice the SAEs into the model for loss recovered and KL (three model runs per batch). */
  lossRecovered: z.boolean().default(true),
});

export const saeStageConfigSchema = sweepConfigSchema.extend({
  /** The hook whose activations train the SAEs; default the cache's only hook. */
  hook: z.string().min(1).optional(),
  /** Seeds the order the activations are drawn in (shuffle buffer and shard order). */
  seed: z.number().int().min(0).max(0xffffffff).default(42),
  /** Shuffle-buffer size in contexts (spec §1.1: ≥ 1000); rows = contexts × n_ctx, at most the cache's rows. */
  bufferContexts: z.number().int().positive().default(1000),
  eval: saeEvalConfigSchema.prefault({}),
});
export type SaeStageConfig = z.output<typeof saeStageConfigSchema>;

export interface SaeTrainJob {
  config: SaeStageConfig;
  /** Activation cache directory (manifest.json). */
  cache: string;
  /** Output: trainer_<i>/, checkpoint.json, summary.json. */
  out: string;
  /** Model checkpoint and game dataset for held-out evaluation; without them the SAEs are evaluated on cache rows. */
  model?: string;
  games?: string;
}

export interface SaeJobHooks {
  signal?: AbortSignal;
  progress?(done: number, total: number, unit: string): void;
  log?(message: string): void;
}

export interface SaeTrainResult {
  rows: SweepSummaryRow[];
  steps: number;
  resumedFrom: number | null;
  hook: string;
}

/** The hook to train on: the config's, or the cache's only one. */
function cacheHook(manifest: CacheManifest, cache: string, hook: string | undefined): string {
  const hooks = Object.keys(manifest.hooks);
  if (hook !== undefined) return hook; // CacheLoader.open names the cache's hooks when it is not one of them
  if (hooks.length !== 1) throw new Error(`${cache} holds ${hooks.length} hooks (${hooks.join(", ")}); choose one with hook / --hook`);
  return hooks[0];
}

/** spec §3 evaluation rows: the model's activations over held-out games (positions filtered as the cache's were). */
export async function heldOutEvalSet(model: Gpt, datasetDir: string, hook: string, manifest: CacheManifest, settings: SaeStageConfig["eval"]): Promise<EvalSet> {
  const games = (await readDatasetDirectory(datasetDir, [settings.split], { checkOthelloMoves: false })).slice(0, settings.games);
  if (games.length === 0) throw new Error(`${datasetDir}: the ${settings.split} split has no games to evaluate the SAEs on`);
  const parts: Float32Array[] = [];
  for (let start = 0; start < games.length; start += settings.batchSize) {
    parts.push(batchActivations(model, games.slice(start, start + settings.batchSize), [hook], manifest.positions.tokens).activations.get(hook)!);
  }
  const rows = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
  parts.reduce((offset, part) => (rows.set(part, offset), offset + part.length), 0);
  return {
    rows,
    tokens: rows.length / cacheRowWidth(model.config, hook),
    source: `${games.length} ${settings.split} games of ${datasetDir}`,
    heldOut: true,
    ...(settings.lossRecovered ? { splice: { model, games, batchSize: settings.batchSize } } : {}),
  };
}

/** Evaluation rows drawn from the training cache itself (no model given): not held out. */
async function cacheEvalSet(cache: string, hook: string, manifest: CacheManifest, config: SaeStageConfig): Promise<EvalSet> {
  const wanted = Math.min(config.eval.games * manifest.model.n_ctx, manifest.rows);
  // One read of a few shards: on this thread (a reader thread pays off only for a long stream).
  const loader = await CacheLoader.open({ dir: cache, hook, batchSize: 4096, bufferRows: wanted, seed: config.seed, epochs: 1, worker: false });
  try {
    const { rows, tokens } = await readRows(loader, wanted);
    return { rows, tokens, source: `${tokens} rows of the training cache ${cache}`, heldOut: false };
  } finally {
    await loader.close();
  }
}

/** Refuses to resume a sweep on other data than it started on; records the data of a fresh start. */
async function checkSweepData(out: string, data: Record<string, unknown>): Promise<void> {
  const file = path.join(out, SWEEP_DATA_FILE);
  const resuming = await readFile(path.join(out, SWEEP_CHECKPOINT_FILE)).then(() => true, () => false);
  if (resuming) {
    const saved = await readFile(file, "utf8").then((text) => JSON.parse(text) as unknown, () => undefined);
    if (JSON.stringify(saved) !== JSON.stringify(data)) {
      throw new ResumeMismatchError(`${file}: the sweep in ${out} was started on ${JSON.stringify(saved)}, this run reads ${JSON.stringify(data)}; choose another output directory`);
    }
    return;
  }
  await writeJsonAtomic(file, data);
}

/** Trains the sweep of `job.config` on the cache (resuming from job.out), then writes and evaluates every SAE. */
export async function runSaeTrainJob(job: SaeTrainJob, hooks: SaeJobHooks = {}): Promise<SaeTrainResult> {
  const { config, cache, out } = job;
  const { steps, batchSize, logSteps, checkpointSteps, dIn, trainers } = config;
  const manifest = await readCacheManifest(cache);
  const hook = cacheHook(manifest, cache, config.hook);
  const bufferRows = Math.max(1, Math.min(config.bufferContexts * manifest.model.n_ctx, manifest.rows));
  const open = (worker: boolean) =>
    CacheLoader.open({ dir: cache, hook, batchSize, bufferRows, seed: config.seed, epochs: Infinity, worker, ...(dIn === undefined ? {} : { expectD: dIn }) });
  const data = { model: manifest.model.name, modelSha256: manifest.model.sha256, dataset: manifest.dataset.id, rows: manifest.rows, hook, seed: config.seed, bufferRows };
  await checkSweepData(out, data);
  const { kernels } = await selectedKernels();
  const source = await open(true);
  let result;
  try {
    hooks.log?.(`training ${trainers.length} SAE(s) on ${hook} of ${manifest.model.name} (${manifest.rows} rows, ${steps} steps of ${batchSize}) with ${kernels.name}`);
    result = await runSweep({
      config: { steps, batchSize, logSteps, checkpointSteps, dIn, trainers },
      source,
      openSource: () => open(false), // spec §1.4: the normalisation estimate reads 100 batches once
      outDir: out,
      kernels,
      signal: hooks.signal,
      info: data,
      onStep: (step) => hooks.progress?.(step + 1, steps, "steps"),
    });
  } finally {
    await source.close();
  }
  if (!result.completed) throw new Error(`interrupted after ${result.stepsDone} of ${steps} steps; run again to resume from the checkpoint in ${out}`);
  if (result.resumedFrom !== null) hooks.log?.(`resumed from step ${result.resumedFrom}`);

  const site: SaeSite = {
    modelName: manifest.model.name,
    hookName: hook,
    contextSize: manifest.model.n_ctx,
    datasetPath: manifest.dataset.id,
    modelSha256: manifest.model.sha256,
  };
  let model: Gpt | null = null;
  try {
    let evalSet: EvalSet;
    if (job.model !== undefined && job.games !== undefined) {
      model = await loadGpt((await initTfjs()).tf, job.model);
      evalSet = await heldOutEvalSet(model, job.games, hook, manifest, config.eval);
    } else {
      evalSet = await cacheEvalSet(cache, hook, manifest, config);
    }
    hooks.log?.(`evaluating on ${evalSet.tokens} rows (${evalSet.source})${evalSet.splice ? ", with loss recovered" : ""}`);
    const rows = await saveSweepResults({
      result, outDir: out, site, evalSet, kernels,
      onSaved: (index, row) => hooks.log?.(`trainer_${index} (${row.trainer}, d_sae ${row.dSae}): L0 ${row.metrics.l0.toFixed(1)}, FVE ${row.metrics.fve.toFixed(4)}${row.metrics.loss_recovered === undefined ? "" : `, loss recovered ${row.metrics.loss_recovered.toFixed(4)}`}`),
    });
    return { rows, steps: result.stepsDone, resumedFrom: result.resumedFrom, hook };
  } finally {
    if (model !== null) disposeGpt(model);
  }
}

export const saeStage = defineStage({
  name: "sae",
  version: "2",
  description: "train a sweep of SAEs in lock-step on cached activations; save SAELens directories with metrics and loss recovered",
  configSchema: saeStageConfigSchema,
  inputs: ["games", "model", "activations"],
  async run({ config, inputs, dir, signal, progress, log }) {
    const started = Date.now();
    const { rows, steps } = await runSaeTrainJob(
      {
        config,
        cache: path.join(inputs.activations.dir, CACHE_DIR),
        out: path.join(dir, SAES_DIR),
        model: path.join(inputs.model.dir, TRAIN_MODEL_DIR),
        games: path.join(inputs.games.dir, DATASET_DIR),
      },
      { signal, progress, log },
    );
    const outputs: Record<string, string> = { saes: SAES_DIR, summary: path.join(SAES_DIR, SUMMARY_FILE) };
    const metrics: Record<string, number> = { steps, trainers: rows.length, seconds: (Date.now() - started) / 1000 };
    for (const row of rows) {
      outputs[row.dir] = path.join(SAES_DIR, row.dir, SAE_WEIGHTS_FILE);
      for (const name of ["l0", "mse", "fve", "frac_dead", "loss_recovered", "kl_score"] as const) {
        const value = row.metrics[name];
        if (typeof value === "number") metrics[`${row.dir}.${name}`] = value;
      }
    }
    return { outputs, metrics };
  },
});
