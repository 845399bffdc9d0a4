// From a finished sweep to SAELens directories (spec sae.md §4): each trainer's inference SAE with its activation
// scale folded in (spec §1.4), evaluated on an evaluation set (spec §3: reconstruction metrics, feature density, and
// loss recovered / KL when a model and games are given), written into its trainer_<i>/ beside training.json and
// log.jsonl, and a table of every trainer's numbers in <outDir>/summary.json.
//
// Interface:
//   EvalSet                                     rows at the hook (+ where they came from), optional model and games
//   evaluateSae(sae, hook, evalSet) → SaeEvaluation { metrics (metrics.json), logDensity }
//   savedSae(trainer, activationScale, site) → SavedSae    a copy of the trained SAE for raw activations
//   saveSweepResults({ result, outDir, site, evalSet, kernels, onSaved? }) → SweepSummaryRow[]
//   SUMMARY_FILE

import path from "node:path";
import type { GameRow } from "../boards/game-dataset.js";
import { writeJsonAtomic } from "../io/atomic-write.js";
import type { Kernels } from "../compute/kernels.js";
import type { Gpt } from "../model/gpt.js";
import { logFeatureDensity, writeSaeDirectory, type SavedSae, type SaeSite } from "./files.js";
import { densityHistogram, reconstructionMetrics, spliceMetrics, type ReconstructionMetrics, type SpliceMetrics } from "./metrics.js";
import { foldActivationScale } from "./normalize.js";
import { createSae, type Sae, type SaeSpec } from "./params.js";
import { trainerDir, type SweepResult } from "./sweep.js";
import type { Trainer } from "./trainers/trainer.js";

export const SUMMARY_FILE = "summary.json";

/** What an SAE is evaluated on. */
export interface EvalSet {
  /** Activation rows at the SAE's hook [tokens, d]. */
  rows: Float32Array;
  tokens: number;
  /** Where the rows came from, e.g. "val games 0..255 of <dataset id>" (metrics.json eval.source). */
  source: string;
  /** Whether the rows are held out from training (spec §3 wants held-out activations). */
  heldOut: boolean;
  /** For loss recovered and KL (spec §3): the model and the games, `batchSize` games per model run. */
  splice?: { model: Gpt; games: readonly GameRow[]; batchSize?: number };
}

/** metrics.json: the spec §3 numbers, what they were computed on, and the feature-density histogram. */
export interface SaeMetricsRecord extends ReconstructionMetrics, Partial<Omit<SpliceMetrics, "games" | "positions">> {
  eval: { source: string; heldOut: boolean; tokens: number; games?: number; positions?: number };
  /** TopK family: features dead at the end of training (c_i ≥ the dead window). */
  dead_training?: number;
  feature_density_histogram: { log10_edges: number[]; counts: number[] };
}

export interface SaeEvaluation {
  metrics: SaeMetricsRecord;
  /** log10(density + 1e-10) per feature, for sparsity.safetensors. */
  logDensity: Float32Array;
}

/** spec §3 on `evalSet` with the SAE's inference encode. */
export function evaluateSae(sae: Sae, hook: string, evalSet: EvalSet): SaeEvaluation {
  const { metrics, density } = reconstructionMetrics(sae, evalSet.rows, evalSet.tokens, 2048);
  const logDensity = logFeatureDensity(density);
  const { edges, counts } = densityHistogram(logDensity);
  const evalInfo: SaeMetricsRecord["eval"] = { source: evalSet.source, heldOut: evalSet.heldOut, tokens: evalSet.tokens };
  let splice: Partial<SpliceMetrics> = {};
  if (evalSet.splice) {
    const { games, positions, ...values } = spliceMetrics(evalSet.splice.model, sae, hook, evalSet.splice.games, evalSet.splice.batchSize);
    Object.assign(evalInfo, { games, positions });
    splice = values;
  }
  return { metrics: { eval: evalInfo, ...metrics, ...splice, feature_density_histogram: { log10_edges: edges, counts } }, logDensity };
}

/**
 * The trainer's SAE as it is saved: a plain copy of its spec (live getters such as TopK's k and θ read now) and of its
 * parameters, with the activation scale c folded in when it trained on x/c (spec §1.4; TopK's θ is ×c too).
 */
export function savedSae(trainer: Trainer, activationScale: number | null, site: SaeSite): SavedSae {
  const live = trainer.sae();
  const { useThreshold: _encodeOption, ...spec }: SaeSpec = { ...live.spec };
  let params = live.params;
  if (activationScale === null) {
    params = Object.fromEntries(Object.entries(params).map(([name, tensor]) => [name, (tensor as Float32Array).slice()])) as unknown as typeof params;
  } else {
    params = foldActivationScale(params, activationScale);
    if (spec.topkThreshold !== undefined && spec.topkThreshold >= 0) spec.topkThreshold *= activationScale;
  }
  return { spec, params, trainer: trainer.config.trainer, site };
}

/** One row of summary.json. */
export interface SweepSummaryRow {
  dir: string;
  trainer: string;
  architecture: string;
  dSae: number;
  metrics: Omit<SaeMetricsRecord, "feature_density_histogram" | "eval">;
}

export interface SaveSweepOptions {
  result: SweepResult;
  /** The sweep's outDir (holding trainer_<i>/). */
  outDir: string;
  site: SaeSite;
  evalSet: EvalSet;
  kernels: Kernels;
  /** Hears of each trainer's directory as it is written. */
  onSaved?: (index: number, row: SweepSummaryRow) => void;
}

/**
 * Writes each trainer's SAELens directory (cfg.json, sae_weights.safetensors, sparsity.safetensors, metrics.json)
 * into outDir/trainer_<i>/ and the table summary.json.
 */
export async function saveSweepResults({ result, outDir, site, evalSet, kernels, onSaved }: SaveSweepOptions): Promise<SweepSummaryRow[]> {
  const rows: SweepSummaryRow[] = [];
  for (const [index, trainer] of result.trainers.entries()) {
    const saved = savedSae(trainer, result.activationScales[index] ?? null, site);
    const sae = createSae(kernels, saved.spec, saved.params);
    const { metrics, logDensity } = evaluateSae(sae, site.hookName, evalSet);
    const dead = trainer.trainerState().dead_features;
    if (typeof dead === "number") metrics.dead_training = dead;
    const dir = trainerDir(outDir, index);
    await writeSaeDirectory(dir, saved, { logDensity, metrics });
    const { feature_density_histogram: _histogram, eval: _eval, ...numbers } = metrics;
    const row = { dir: path.basename(dir), trainer: saved.trainer, architecture: saved.spec.architecture, dSae: saved.spec.dSae, metrics: numbers };
    rows.push(row);
    onSaved?.(index, row);
  }
  await writeJsonAtomic(path.join(outDir, SUMMARY_FILE), { site, eval: rows.length > 0 ? evalSet.source : null, trainers: rows });
  return rows;
}
