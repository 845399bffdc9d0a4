// Board-metric result files (spec board-metrics.md §10): board_metrics.json and a Parquet row per function for each
// dictionary, feature_annotations.parquet (long format: one row per best entry and per HPC label of each alive
// feature), and the comparison table across dictionaries in the paper's layout (L0, loss recovered, coverage,
// reconstruction).

import { mkdir } from "node:fs/promises";
import path from "node:path";
import { writeJsonAtomic } from "../../io/atomic-write.js";
import { writeParquetTable, type ColumnSpec } from "../../io/parquet-table.js";
import type { FeatureAnnotation } from "./annotations.js";
import type { GameKind } from "../game-dataset.js";
import type { BoardMetrics } from "./board-eval.js";
import type { FeatureThresholds } from "./thresholds.js";

export const BOARD_METRICS_FILE = "board_metrics.json";
export const BOARD_METRICS_TABLE = "board_metrics.parquet";
export const FEATURE_ANNOTATIONS_FILE = "feature_annotations.parquet";
export const FEATURE_THRESHOLDS_FILE = "feature_thresholds.parquet";
export const COMPARISON_FILE = "board_comparison.json";
export const COMPARISON_TABLE = "board_comparison.parquet";

/** One Parquet row per (dictionary, function). */
function functionRows(metrics: BoardMetrics): ColumnSpec[] {
  const ids = Object.keys(metrics.functions);
  const fns = ids.map((id) => metrics.functions[id]);
  const number = (name: string, pick: (i: number) => number | null): ColumnSpec => ({ name, type: "float64", values: ids.map((_, i) => pick(i)) });
  return [
    { name: "dictionary", type: "string", values: ids.map(() => metrics.dictionary) },
    { name: "kind", type: "string", values: ids.map(() => metrics.kind) },
    { name: "trainer", type: "string", values: ids.map(() => metrics.trainer) },
    { name: "hook", type: "string", values: ids.map(() => metrics.hook) },
    { name: "function", type: "string", values: ids },
    { name: "n_alive", type: "int32", values: Int32Array.from(ids, () => metrics.n_alive) },
    number("coverage", (i) => fns[i].coverage),
    number("coverage_ref", (i) => fns[i].coverage_ref),
    { name: "coverage_k", type: "int32", values: Int32Array.from(fns, (f) => f.coverage_k) },
    { name: "n_positive_entries", type: "int32", values: Int32Array.from(fns, (f) => f.n_positive_entries) },
    number("reconstruction", (i) => fns[i].reconstruction),
    { name: "reconstruction_k", type: "int32", values: Int32Array.from(fns, (f) => f.reconstruction_k) },
    number("f1_adaptive", (i) => fns[i].f1_adaptive),
    number("trivial_f1", (i) => fns[i].trivial_f1),
  ];
}

/** Long-format annotations: kind "best" (rank 0..4, with F1/precision/recall/TP/on) or "label" (an HPC label at k). */
function annotationColumns(annotations: readonly FeatureAnnotation[]): ColumnSpec[] {
  const feature: number[] = [], kind: string[] = [], rank: number[] = [], bsp: string[] = [], fn: string[] = [], k: number[] = [];
  const f1: (number | null)[] = [], precision: (number | null)[] = [], recall: (number | null)[] = [], tp: (number | null)[] = [], on: (number | null)[] = [];
  for (const annotation of annotations) {
    annotation.best.forEach((entry, i) => {
      feature.push(annotation.feature), kind.push("best"), rank.push(i), bsp.push(entry.bsp), fn.push(entry.fn), k.push(entry.k);
      f1.push(entry.f1), precision.push(entry.precision), recall.push(entry.recall), tp.push(entry.tp), on.push(entry.on);
    });
    annotation.labels.forEach((label, i) => {
      feature.push(annotation.feature), kind.push("label"), rank.push(i), bsp.push(label.bsp), fn.push(label.fn), k.push(label.k);
      f1.push(null), precision.push(null), recall.push(null), tp.push(null), on.push(null);
    });
  }
  return [
    { name: "feature", type: "int32", values: Int32Array.from(feature) },
    { name: "kind", type: "string", values: kind },
    { name: "rank", type: "int32", values: Int32Array.from(rank) },
    { name: "bsp", type: "string", values: bsp },
    { name: "function", type: "string", values: fn },
    { name: "k", type: "int32", values: Int32Array.from(k) },
    { name: "f1", type: "float64", values: f1 },
    { name: "precision", type: "float64", values: precision },
    { name: "recall", type: "float64", values: recall },
    { name: "tp", type: "float64", values: tp },
    { name: "on", type: "float64", values: on },
  ];
}

/** spec §3–4 per feature: alive on the firing sample, |max activation|, and the thresholds τ_k = t_k·max it implies. */
function thresholdColumns(thresholds: FeatureThresholds): ColumnSpec[] {
  const features = Int32Array.from({ length: thresholds.nFeatures }, (_, f) => f);
  return [
    { name: "feature", type: "int32", values: features },
    { name: "alive", type: "int32", values: Int32Array.from(features, (f) => (thresholds.aliveIndex[f] >= 0 ? 1 : 0)) },
    { name: "max_activation", type: "float64", values: Float64Array.from(thresholds.maxActivation) },
  ];
}

/**
 * Writes board_metrics.json, board_metrics.parquet, feature_annotations.parquet and feature_thresholds.parquet into
 * `dir`; board_metrics.json last, so its presence means the set is complete.
 */
export async function writeBoardResults(dir: string, metrics: BoardMetrics, annotations: readonly FeatureAnnotation[], thresholds: FeatureThresholds): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const provenance = { "sae_circuits.dictionary": metrics.dictionary, "sae_circuits.model": metrics.model, "sae_circuits.hook": metrics.hook };
  const files = [BOARD_METRICS_TABLE, FEATURE_ANNOTATIONS_FILE, FEATURE_THRESHOLDS_FILE, BOARD_METRICS_FILE].map((name) => path.join(dir, name));
  await writeParquetTable(files[0], functionRows(metrics), provenance);
  await writeParquetTable(files[1], annotationColumns(annotations), provenance);
  await writeParquetTable(files[2], thresholdColumns(thresholds), provenance);
  await writeJsonAtomic(files[3], metrics);
  return files;
}

/** One line of the comparison table (spec §11 layout). */
export interface ComparisonRow {
  /** "sae", "mlp neurons", "random-model sae", "linear probe". */
  approach: string;
  game: GameKind;
  name: string;
  trainer: string;
  hook: string;
  l0: number | null;
  loss_recovered: number | null;
  coverage: number | null;
  coverage_ref: number | null;
  reconstruction: number | null;
  /** Othello legal-move / chess strategy reconstruction, where computed. */
  secondary_reconstruction: number | null;
}

/** The comparison row of a dictionary's board metrics; L0 and loss recovered come from its SAE metrics, if any. */
export function comparisonRow(approach: string, metrics: BoardMetrics, saeMetrics: { l0?: number; loss_recovered?: number } | null): ComparisonRow {
  const secondary = metrics.game === "othello" ? (metrics.functions.legal?.reconstruction ?? null) : metrics.aggregates.strategy_reconstruction;
  return {
    approach,
    game: metrics.game,
    name: metrics.dictionary,
    trainer: metrics.trainer,
    hook: metrics.hook,
    l0: saeMetrics?.l0 ?? null,
    loss_recovered: saeMetrics?.loss_recovered ?? null,
    coverage: metrics.aggregates.board_coverage,
    coverage_ref: metrics.aggregates.board_coverage_ref,
    reconstruction: metrics.aggregates.board_reconstruction,
    secondary_reconstruction: secondary,
  };
}

const COMPARISON_HEADERS = ["approach", "name", "trainer", "hook", "L0", "loss rec.", "coverage", "coverage_ref", "reconstruction", "2nd recon."];

/** The table as fixed-width text (numbers to 3 decimals, "–" where not applicable). */
export function formatComparison(rows: readonly ComparisonRow[]): string {
  const secondaryName = rows[0]?.game === "chess" ? "strategy recon." : "legal recon.";
  const cell = (value: number | null, digits = 3) => (value === null ? "–" : value.toFixed(digits));
  const body = rows.map((row) => [
    row.approach, row.name, row.trainer, row.hook, cell(row.l0, 1), cell(row.loss_recovered), cell(row.coverage), cell(row.coverage_ref), cell(row.reconstruction), cell(row.secondary_reconstruction),
  ]);
  const headers = COMPARISON_HEADERS.map((header) => (header === "2nd recon." ? secondaryName : header));
  const widths = headers.map((header, c) => Math.max(header.length, ...body.map((line) => line[c].length)));
  const line = (cells: string[]) => cells.map((text, c) => (c < 4 ? text.padEnd(widths[c]) : text.padStart(widths[c]))).join("  ").trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

/** Writes board_comparison.json and board_comparison.parquet into `dir`. */
export async function writeComparison(dir: string, rows: readonly ComparisonRow[]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const text = ["approach", "game", "name", "trainer", "hook"] as const;
  const numbers = ["l0", "loss_recovered", "coverage", "coverage_ref", "reconstruction", "secondary_reconstruction"] as const;
  const columns: ColumnSpec[] = [
    ...text.map((name): ColumnSpec => ({ name, type: "string", values: rows.map((row) => row[name]) })),
    ...numbers.map((name): ColumnSpec => ({ name, type: "float64", values: rows.map((row) => row[name]) })),
  ];
  const files = [path.join(dir, COMPARISON_TABLE), path.join(dir, COMPARISON_FILE)];
  await writeParquetTable(files[0], columns);
  await writeJsonAtomic(files[1], rows);
  return files;
}
