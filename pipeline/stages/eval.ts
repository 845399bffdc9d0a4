// The `eval` stage: board-state metrics (spec board-metrics.md) of the `sae` stage's SAEs, of the MLP-neuron baseline
// at the same block, and — when the config names a random-init checkpoint — of the same sweep trained on that
// model's activations (spec §9). Each dictionary gets board_metrics.json, board_metrics.parquet and
// feature_annotations.parquet in its own directory; the comparison table goes to board_comparison.{json,parquet}.
// `saec eval board` runs the same evaluation on any SAE directories.

import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { readDatasetDirectory } from "../../boards/dataset-directory.js";
import { evaluateDictionary, evaluationData } from "../../boards/metrics/board-eval.js";
import { mlpHookFor, mlpNeuronDictionary, modelWeightsSha256, saeDictionary, type Dictionary, type ModelIdentity } from "../../boards/metrics/dictionary.js";
import { comparisonRow, formatComparison, writeBoardResults, writeComparison, type ComparisonRow } from "../../boards/metrics/results.js";
import { boardFunctions, boardFunctionsById, evaluationSets } from "../../boards/metrics/scored-games.js";
import { OTHELLO_PERSPECTIVES } from "../../boards/othello/bsp.js";
import { SPLITS } from "../../boards/splits.js";
import { kernels as selectedKernels } from "../../compute/select.js";
import { initTfjs } from "../../compute/tfjs.js";
import { loadGpt } from "../../model/checkpoint.js";
import { disposeGpt } from "../../model/gpt.js";
import { TRAIN_MODEL_DIR } from "../../model/train.js";
import { readSaeDirectory, SAE_METRICS_FILE } from "../../sae/files.js";
import { defineStage, type Artifact } from "../stage.js";
import { activationsStageConfigSchema, CACHE_DIR, runActivationsJob } from "./activations.js";
import { DATASET_DIR } from "./games.js";
import { runSaeTrainJob, SAES_DIR, saeStageConfigSchema } from "./sae.js";

export const evalStageConfigSchema = z.strictObject({
  /** spec §2: held-out games of this split; the first labelGames label, the next reconGames are reconstructed. */
  split: z.enum(SPLITS).default("test"),
  labelGames: z.number().int().positive().default(1000),
  reconGames: z.number().int().positive().default(1000),
  /** Firing-sample games (default min(⌊labelGames/2⌋, 1000)). */
  fireGames: z.number().int().positive().optional(),
  /** Chess: games with fewer dots in their first 256 characters are skipped. */
  minDots: z.number().int().min(0).default(20),
  /** Othello mine/theirs perspective; "parity" reproduces the reference's numbers. */
  perspective: z.enum(OTHELLO_PERSPECTIVES).default("true-mover"),
  /** BSP functions to score (default every function of the game). */
  functions: z.array(z.string().min(1)).min(1).optional(),
  /** Games per model run. */
  batchGames: z.number().int().positive().default(32),
  /** The identity "SAE" over the MLP neurons of the block the SAEs read (spec §9). */
  mlpNeurons: z.boolean().default(true),
  /** A random-init checkpoint of the same config: its activations are cached and the same sweep trained and scored. */
  randomModel: z.string().min(1).optional(),
});
export type EvalStageConfig = z.output<typeof evalStageConfigSchema>;

/** What to score and where its results go. */
export interface BoardEvalEntry {
  /** An SAE directory, or the MLP-neuron baseline at a hook (blocks.L.mlp.hook_post). */
  source: { sae: string } | { mlpHook: string };
  out: string;
  /** The comparison table's first column: "sae", "mlp neurons", "random-model sae". */
  approach: string;
}

export interface BoardEvalHooks {
  log?(message: string): void;
}

async function saeMetricsOf(dir: string): Promise<{ l0?: number; loss_recovered?: number } | null> {
  return readFile(path.join(dir, SAE_METRICS_FILE), "utf8").then((text) => JSON.parse(text) as { l0?: number; loss_recovered?: number }, () => null);
}

/** Scores `entries` (all belonging to the checkpoint `modelDir`) on the games of `gamesDir`; returns their comparison rows. */
export async function runBoardEval(
  config: EvalStageConfig,
  modelDir: string,
  gamesDir: string,
  entries: readonly BoardEvalEntry[],
  hooks: BoardEvalHooks = {},
): Promise<ComparisonRow[]> {
  const { tf } = await initTfjs();
  const { kernels } = await selectedKernels();
  const model = await loadGpt(tf, modelDir);
  try {
    const identity: ModelIdentity = { dir: modelDir, config: model.config, sha256: await modelWeightsSha256(modelDir) };
    const dictionaries: Dictionary[] = [];
    for (const entry of entries) {
      dictionaries.push("sae" in entry.source ? await saeDictionary(entry.source.sae, identity, kernels) : mlpNeuronDictionary(model.config, entry.source.mlpHook));
    }
    const games = await readDatasetDirectory(gamesDir, [config.split], { checkOthelloMoves: false });
    if (games.length > 0 && games[0].game !== model.config.game) {
      throw new RangeError(`${gamesDir}: the games are ${games[0].game}, model ${modelDir} ("${model.config.model_name}") plays ${model.config.game}`);
    }
    const sets = evaluationSets(games, `${gamesDir} (${config.split})`, config);
    const fns = config.functions ? boardFunctionsById(model.config.game, config.functions) : boardFunctions(model.config.game);
    const hookList = [...new Set(dictionaries.map((dictionary) => dictionary.hook))];
    hooks.log?.(`running ${model.config.model_name} over ${sets.label.length} + ${sets.recon.length} ${config.split} games at ${hookList.join(", ")}`);
    const data = evaluationData(model, sets, hookList, fns, { model: model.config.model_name, dataset: gamesDir, split: config.split }, config);
    const rows: ComparisonRow[] = [];
    for (const [i, dictionary] of dictionaries.entries()) {
      const started = Date.now();
      const { metrics, annotations, thresholds } = evaluateDictionary(dictionary, data);
      await writeBoardResults(entries[i].out, metrics, annotations, thresholds);
      const saeDir = "sae" in entries[i].source ? (entries[i].source as { sae: string }).sae : null;
      const row = comparisonRow(entries[i].approach, metrics, saeDir === null ? null : await saeMetricsOf(saeDir));
      rows.push(row);
      hooks.log?.(
        `${dictionary.name}: ${metrics.n_alive}/${metrics.n_features} alive, coverage ${row.coverage?.toFixed(3)} (ref ${row.coverage_ref?.toFixed(3)}), ` +
          `reconstruction ${row.reconstruction?.toFixed(3)} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
      );
    }
    return rows;
  } finally {
    disposeGpt(model);
  }
}

/** The sae stage's SAE directories (trainer_0, trainer_1, …) in index order. */
async function sweepDirectories(saes: string): Promise<string[]> {
  const names = (await readdir(saes)).filter((name) => /^trainer_\d+$/.test(name));
  return names.sort((a, b) => Number(a.slice(8)) - Number(b.slice(8))).map((name) => path.join(saes, name));
}

/** spec §9 random-init baseline: the activations stage's cache and the sae stage's sweep, on the random model. */
async function trainRandomModelSweep(randomModel: string, inputs: Readonly<Record<string, Artifact>>, dir: string, hooks: BoardEvalHooks & { signal?: AbortSignal }): Promise<string> {
  const datasetDir = path.join(inputs.games.dir, DATASET_DIR);
  const cache = path.join(dir, "random-model", CACHE_DIR);
  const saes = path.join(dir, "random-model", SAES_DIR);
  hooks.log?.(`random-init baseline ${randomModel}: caching activations, then training the sae stage's sweep`);
  await runActivationsJob(activationsStageConfigSchema.parse(inputs.activations.manifest.config), randomModel, datasetDir, cache, hooks);
  await runSaeTrainJob({ config: saeStageConfigSchema.parse(inputs.sae.manifest.config), cache, out: saes, model: randomModel, games: datasetDir }, hooks);
  return saes;
}

export const evalStage = defineStage({
  name: "eval",
  version: "1",
  description: "board-state metrics (coverage, board reconstruction, feature labels) of the SAEs and their baselines",
  configSchema: evalStageConfigSchema,
  inputs: ["games", "model", "activations", "sae"],
  // the random-init checkpoint is named by path: its weights are part of the key
  fingerprint: async (config) => (config.randomModel === undefined ? {} : { randomModel: await modelWeightsSha256(config.randomModel) }),
  async run({ config, inputs, dir, signal, log }) {
    const modelDir = path.join(inputs.model.dir, TRAIN_MODEL_DIR);
    const gamesDir = path.join(inputs.games.dir, DATASET_DIR);
    const saeDirs = await sweepDirectories(path.join(inputs.sae.dir, SAES_DIR));
    const entries: BoardEvalEntry[] = saeDirs.map((sae) => ({ source: { sae }, out: path.join(dir, "sae", path.basename(sae)), approach: "sae" }));
    if (config.mlpNeurons && saeDirs.length > 0) {
      const mlpHook = mlpHookFor((await readSaeDirectory(saeDirs[0])).site.hookName);
      entries.push({ source: { mlpHook }, out: path.join(dir, "mlp-neurons"), approach: "mlp neurons" });
    }
    const rows = await runBoardEval(config, modelDir, gamesDir, entries, { log });
    if (config.randomModel !== undefined) {
      const randomSaes = await sweepDirectories(await trainRandomModelSweep(config.randomModel, inputs, dir, { log, signal }));
      const randomEntries = randomSaes.map((sae) => ({ source: { sae }, out: path.join(dir, "random-model", "eval", path.basename(sae)), approach: "random-model sae" }));
      rows.push(...(await runBoardEval(config, config.randomModel, gamesDir, randomEntries, { log })));
    }
    await writeComparison(dir, rows);
    log(`\n${formatComparison(rows)}`);
    const metrics: Record<string, number> = {};
    for (const [i, row] of rows.entries()) {
      const name = `${row.approach.replace(/ /g, "_")}.${i}`;
      for (const key of ["coverage", "coverage_ref", "reconstruction"] as const) if (row[key] !== null) metrics[`${name}.${key}`] = row[key]!;
    }
    return { outputs: { comparison: "board_comparison.json", table: "board_comparison.parquet" }, metrics };
  },
});
