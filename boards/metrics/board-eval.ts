// Board-state evaluation of one dictionary (spec board-metrics.md §2–8, §10): the firing sample fixes alive features
// and thresholds, the labelling set gives per-feature statistics, coverage and high-precision labels, and the
// reconstruction set scores board reconstruction with those labels. The model runs once per evaluation set; every
// dictionary at the same hooks is then scored from the cached activations, a chunk of positions at a time.

import { bspWidth, type BspFunction } from "../bsp.js";
import type { GameKind, GameRow } from "../game-dataset.js";
import type { OthelloPerspective } from "../othello/bsp.js";
import type { Gpt } from "../../model/gpt.js";
import { featureAnnotations, type FeatureAnnotation } from "./annotations.js";
import { coverageOf, type CoverageResult } from "./coverage.js";
import type { Dictionary } from "./dictionary.js";
import { LabellingCounts } from "./feature-stats.js";
import { highPrecisionLabels } from "./feature-labels.js";
import { ReconstructionCounts, type ReconstructionResult } from "./reconstruction.js";
import { boardFunctionOf, scoredActivations, scoredPositions, type ScoredPositions } from "./scored-games.js";
import { CHESS_STRATEGY_FUNCTIONS } from "../chess/strategy.js";
import { featureLevels, FiringSample, type FeatureThresholds } from "./thresholds.js";

/** One evaluation set: its games, scored positions with their truth, and the activations there (hook → [rows, d]). */
export interface EvaluationSet {
  games: readonly GameRow[];
  positions: ScoredPositions;
  activations: Map<string, Float32Array>;
  rows: number;
}

export interface BoardEvaluationData {
  game: GameKind;
  /** The model's name (config model_name) and checkpoint, for reports. */
  model: string;
  fns: readonly BspFunction[];
  /** Where the games came from: dataset directory and split. */
  dataset: string;
  split: string;
  label: EvaluationSet;
  recon: EvaluationSet;
  /** spec §2: the firing sample is the first fireGames labelling games, fireRows scored positions. */
  fireGames: number;
  fireRows: number;
}

export interface EvaluationDataOptions {
  perspective?: OthelloPerspective;
  /** Games per model run (default 32). */
  batchGames?: number;
  /** Firing-sample games (default min(⌊labelling games / 2⌋, 1000), spec §2). */
  fireGames?: number;
}

function evaluationSet(model: Gpt, games: readonly GameRow[], fns: readonly BspFunction[], hooks: readonly string[], options: EvaluationDataOptions): EvaluationSet {
  const positions = scoredPositions(games, fns, { nCtx: model.config.n_ctx, perspective: options.perspective });
  const activations = scoredActivations(model, games, positions, hooks, options.batchGames ?? 32);
  return { games, positions, activations, rows: positions.game.length };
}

/** Runs the model over both sets once, keeping the activations of `hooks` at the scored positions. */
export function evaluationData(
  model: Gpt,
  sets: { label: readonly GameRow[]; recon: readonly GameRow[] },
  hooks: readonly string[],
  fns: readonly BspFunction[],
  source: { model: string; dataset: string; split: string },
  options: EvaluationDataOptions = {},
): BoardEvaluationData {
  const label = evaluationSet(model, sets.label, fns, hooks, options);
  const recon = evaluationSet(model, sets.recon, fns, hooks, options);
  const fireGames = options.fireGames ?? Math.min(Math.floor(sets.label.length / 2), 1000);
  if (!Number.isInteger(fireGames) || fireGames < 1 || fireGames > sets.label.length) {
    throw new RangeError(`board evaluation: fireGames must be an integer in 1..${sets.label.length} (the labelling games), got ${fireGames}`);
  }
  let fireRows = 0;
  while (fireRows < label.rows && label.positions.game[fireRows] < fireGames) fireRows++;
  return { game: model.config.game, fns, ...source, label, recon, fireGames, fireRows };
}

/** Per-function results (spec §10 `functions` entry). */
export type FunctionMetrics = Omit<CoverageResult, "best_f1"> &
  ReconstructionResult & {
    n_hpc_by_k: number[];
    n_hpc_features_by_k: number[];
    /** Binary scalar BSPs: F1 of an always-on feature, 2p/(1+p) (spec §12.2); null for board maps. */
    trivial_f1: number | null;
  };

export interface BoardMetrics {
  dictionary: string;
  kind: Dictionary["kind"];
  trainer: string;
  model: string;
  hook: string;
  game: GameKind;
  splits: {
    dataset: string;
    split: string;
    n_label_games: number;
    n_recon_games: number;
    n_fire_games: number;
    n_label_positions: number;
    n_recon_positions: number;
  };
  n_features: number;
  n_alive: number;
  functions: Record<string, FunctionMetrics>;
  aggregates: {
    board_coverage: number | null;
    board_coverage_ref: number | null;
    board_reconstruction: number | null;
    strategy_coverage: number | null;
    strategy_coverage_ref: number | null;
    strategy_reconstruction: number | null;
  };
}

/**
 * Feature activations of rows [start, end) of a set, `chunkRows` at a time; chunk i comes from `reuse(i)` when that
 * has it, else from the dictionary's encode.
 */
function* featureChunks(
  dictionary: Dictionary,
  set: EvaluationSet,
  end: number,
  chunkRows: number,
  reuse?: (chunk: number) => Float32Array | undefined,
): Generator<{ start: number; rows: number; acts: Float32Array }> {
  const x = set.activations.get(dictionary.hook);
  if (!x) throw new RangeError(`board evaluation: no activations at "${dictionary.hook}" (cached: ${[...set.activations.keys()].join(", ")})`);
  const d = x.length / Math.max(1, set.rows);
  for (let start = 0, chunk = 0; start < end; start += chunkRows, chunk++) {
    const rows = Math.min(chunkRows, end - start);
    yield { start, rows, acts: reuse?.(chunk) ?? dictionary.encode(x.subarray(start * d, (start + rows) * d), rows) };
  }
}

/**
 * The firing pass's chunks of feature activations, kept sparse so that the labelling pass, which reads the same rows
 * first, need not encode them again: the values are the encode's own, so both passes see the same bits. Past
 * `budget` non-zeros everything kept is dropped and those chunks are encoded again (SAE activations are sparse; a
 * dense dictionary such as the MLP neurons has a free encode and is not kept at all).
 */
class SparseChunks {
  private readonly chunks: ({ rows: number; index: Int32Array; value: Float32Array } | undefined)[] = [];
  private nonZeros = 0;
  private dropped: boolean;

  constructor(
    private readonly nFeatures: number,
    private readonly budget: number,
  ) {
    this.dropped = budget <= 0;
  }

  keep(acts: Float32Array, rows: number): void {
    if (this.dropped) return;
    let count = 0;
    for (let i = 0; i < acts.length; i++) if (acts[i] !== 0) count++;
    this.nonZeros += count;
    if (this.nonZeros > this.budget) {
      this.dropped = true;
      this.chunks.length = 0;
      return;
    }
    const index = new Int32Array(count);
    const value = new Float32Array(count);
    for (let i = 0, j = 0; i < acts.length; i++) {
      if (acts[i] !== 0) {
        index[j] = i;
        value[j++] = acts[i];
      }
    }
    this.chunks.push({ rows, index, value });
  }

  /** Chunk i as dense [rows, nFeatures] activations, once (its memory is released), or undefined if not kept. */
  take(chunk: number): Float32Array | undefined {
    const kept = this.chunks[chunk];
    if (!kept) return undefined;
    this.chunks[chunk] = undefined;
    const acts = new Float32Array(kept.rows * this.nFeatures);
    for (let j = 0; j < kept.index.length; j++) acts[kept.index[j]] = kept.value[j];
    return acts;
  }
}

/** Non-zero feature activations the firing pass keeps for the labelling pass (8 bytes each: 128 MiB). */
export const FIRING_CACHE_NON_ZEROS = 16 * 2 ** 20;

function truthSlice(set: EvaluationSet, fns: readonly BspFunction[], start: number, rows: number): Map<string, Uint8Array> {
  return new Map(
    fns.map((fn) => {
      const width = bspWidth(fn);
      return [fn.id, set.positions.truth.get(fn.id)!.subarray(start * width, (start + rows) * width)];
    }),
  );
}

const mean = (values: number[]): number | null => (values.length === 0 ? null : values.reduce((sum, v) => sum + v, 0) / values.length);

/** Scores one dictionary on prepared evaluation data: board_metrics.json's content and the feature annotations. */
export function evaluateDictionary(
  dictionary: Dictionary,
  data: BoardEvaluationData,
  chunkRows = 2048,
  firingCacheNonZeros = FIRING_CACHE_NON_ZEROS,
): { metrics: BoardMetrics; annotations: FeatureAnnotation[]; thresholds: FeatureThresholds } {
  const { fns, label, recon } = data;
  const firing = new FiringSample(dictionary.nFeatures);
  const kept = new SparseChunks(dictionary.nFeatures, dictionary.kind === "sae" ? firingCacheNonZeros : 0);
  // the labelling pass's chunks, cut at fireRows: a row the labelling pass encodes again is encoded in a batch of the
  // same shape both times, so its bits (and whether it exceeds its own maximum) cannot differ between the passes
  const firingEnd = Math.min(label.rows, Math.ceil(data.fireRows / chunkRows) * chunkRows);
  for (const chunk of featureChunks(dictionary, label, firingEnd, chunkRows)) {
    const rows = Math.min(chunk.rows, data.fireRows - chunk.start);
    firing.add(chunk.acts.subarray(0, rows * dictionary.nFeatures), rows);
    kept.keep(chunk.acts, chunk.rows);
  }
  const thresholds = firing.finish();
  const nAlive = thresholds.alive.length;

  const labelling = new LabellingCounts(fns, nAlive);
  for (const chunk of featureChunks(dictionary, label, label.rows, chunkRows, (i) => kept.take(i))) {
    labelling.add(featureLevels(chunk.acts, chunk.rows, thresholds), truthSlice(label, fns, chunk.start, chunk.rows));
  }
  const counts = labelling.finish();
  const labels = counts.map((c) => highPrecisionLabels(c));

  const reconstruction = labels.map((l) => new ReconstructionCounts(l));
  for (const chunk of featureChunks(dictionary, recon, recon.rows, chunkRows)) {
    const levels = featureLevels(chunk.acts, chunk.rows, thresholds);
    const truth = truthSlice(recon, fns, chunk.start, chunk.rows);
    fns.forEach((fn, i) => reconstruction[i].add(levels, truth.get(fn.id)!));
  }

  const functions: Record<string, FunctionMetrics> = {};
  fns.forEach((fn, i) => {
    const { best_f1: _best, ...coverage } = coverageOf(counts[i]);
    const scalar = fn.rows === 1 && fn.classes === 1;
    const p = counts[i].positive[0] / Math.max(1, counts[i].positions);
    functions[fn.id] = {
      ...coverage,
      ...reconstruction[i].finish(),
      n_hpc_by_k: labels[i].n_hpc_by_k,
      n_hpc_features_by_k: labels[i].n_hpc_features_by_k,
      trivial_f1: scalar ? (2 * p) / (1 + p) : null,
    };
  });
  const board = functions[boardFunctionOf(data.game).id];
  const strategy = CHESS_STRATEGY_FUNCTIONS.filter((fn) => functions[fn.id] !== undefined).map((fn) => functions[fn.id]);
  const strategyComplete = data.game === "chess" && strategy.length === CHESS_STRATEGY_FUNCTIONS.length;
  const metrics: BoardMetrics = {
    dictionary: dictionary.name,
    kind: dictionary.kind,
    trainer: dictionary.trainer,
    model: data.model,
    hook: dictionary.hook,
    game: data.game,
    splits: {
      dataset: data.dataset,
      split: data.split,
      n_label_games: label.games.length,
      n_recon_games: recon.games.length,
      n_fire_games: data.fireGames,
      n_label_positions: label.rows,
      n_recon_positions: recon.rows,
    },
    n_features: dictionary.nFeatures,
    n_alive: nAlive,
    functions,
    aggregates: {
      board_coverage: board?.coverage ?? null,
      board_coverage_ref: board?.coverage_ref ?? null,
      board_reconstruction: board?.reconstruction ?? null,
      // spec §6: unweighted mean of the 14 strategy functions, each at its own k*
      strategy_coverage: strategyComplete ? mean(strategy.map((m) => m.coverage)) : null,
      strategy_coverage_ref: strategyComplete ? mean(strategy.map((m) => m.coverage_ref)) : null,
      strategy_reconstruction: strategyComplete ? mean(strategy.map((m) => m.reconstruction)) : null,
    },
  };
  return { metrics, annotations: featureAnnotations(thresholds, counts, labels), thresholds };
}
