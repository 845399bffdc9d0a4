// The `games` stage: a synthetic Othello game dataset (boards/othello/generate.ts) as a dataset directory of
// per-split Parquet files (boards/dataset-directory.ts).

import path from "node:path";
import { writeDatasetDirectory } from "../../boards/dataset-directory.js";
import { generateOthelloGames, othelloGenerationConfigSchema } from "../../boards/othello/generate.js";
import { SPLITS } from "../../boards/splits.js";
import { defineStage } from "../stage.js";

export const DATASET_DIR = "dataset";

export const gamesStage = defineStage({
  name: "games",
  version: "2",
  description: "generate synthetic Othello games (uniformly random legal moves) as a Parquet dataset",
  configSchema: othelloGenerationConfigSchema.strict(),
  inputs: [],
  async run({ config, dir, progress, signal }) {
    const rows = await generateOthelloGames({ ...config, signal, onProgress: (done, total) => progress(done, total, "games") });
    const manifest = await writeDatasetDirectory(path.join(dir, DATASET_DIR), "othello", rows, { source: "random", ...config });
    const metrics: Record<string, number> = {
      games: rows.length,
      meanLength: rows.reduce((sum, row) => sum + row.length, 0) / Math.max(1, rows.length),
    };
    for (const split of SPLITS) metrics[`${split}Games`] = manifest.counts[split];
    return { outputs: { dataset: DATASET_DIR, manifest: path.join(DATASET_DIR, "manifest.json") }, metrics };
  },
});
