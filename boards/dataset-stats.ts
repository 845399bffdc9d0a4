// Summary statistics of a game dataset, for `saec games stats`.

import type { GameRow } from "./game-dataset.js";

export interface DatasetStats {
  games: number;
  bySplit: Record<string, number>;
  byResult: Record<string, number>;
  bySource: Record<string, number>;
  minLength: number;
  maxLength: number;
  meanLength: number;
  /** [bin start, count] with bins of `binWidth` moves/plies. */
  lengthHistogram: [number, number][];
  binWidth: number;
  /** Games whose move sequence repeats an earlier game's. */
  duplicates: number;
}

function increment(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

export function datasetStats(rows: readonly GameRow[], binWidth = 10): DatasetStats {
  const bySplit: Record<string, number> = {};
  const byResult: Record<string, number> = {};
  const bySource: Record<string, number> = {};
  const bins = new Map<number, number>();
  const seen = new Set<string>();
  let duplicates = 0;
  let total = 0;
  let minLength = Infinity;
  let maxLength = -Infinity;
  for (const row of rows) {
    increment(bySplit, row.split);
    increment(byResult, row.result);
    increment(bySource, row.source);
    total += row.length;
    minLength = Math.min(minLength, row.length);
    maxLength = Math.max(maxLength, row.length);
    const bin = Math.floor(row.length / binWidth) * binWidth;
    bins.set(bin, (bins.get(bin) ?? 0) + 1);
    const key = typeof row.moves === "string" ? row.moves : Buffer.from(row.moves).toString("latin1");
    if (seen.has(key)) duplicates++;
    else seen.add(key);
  }
  return {
    games: rows.length,
    bySplit,
    byResult,
    bySource,
    minLength: rows.length > 0 ? minLength : 0,
    maxLength: rows.length > 0 ? maxLength : 0,
    meanLength: rows.length > 0 ? total / rows.length : 0,
    lengthHistogram: [...bins.entries()].sort(([a], [b]) => a - b),
    binWidth,
    duplicates,
  };
}

export function formatDatasetStats(stats: DatasetStats): string {
  const counts = (record: Record<string, number>) =>
    Object.entries(record)
      .map(([key, count]) => `${key} ${count}`)
      .join(", ");
  const widest = Math.max(1, ...stats.lengthHistogram.map(([, count]) => count));
  const lines = [
    `games       ${stats.games} (${counts(stats.bySplit)})`,
    `sources     ${counts(stats.bySource)}`,
    `results     ${counts(stats.byResult)}`,
    `length      min ${stats.minLength}, mean ${stats.meanLength.toFixed(2)}, max ${stats.maxLength}`,
    `duplicates  ${stats.duplicates}`,
    "length histogram:",
    ...stats.lengthHistogram.map(
      ([start, count]) =>
        `  ${String(start).padStart(4)}-${String(start + stats.binWidth - 1).padEnd(4)} ${String(count).padStart(9)} ${"#".repeat(Math.ceil((40 * count) / widest))}`,
    ),
  ];
  return lines.join("\n");
}
