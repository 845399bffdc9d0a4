// The `games` stage: a game dataset from any source (boards/game-sources.ts) written as a dataset directory of
// per-split Parquet files (boards/dataset-directory.ts).

import { stat } from "node:fs/promises";
import path from "node:path";
import { writeDatasetDirectory } from "../../boards/dataset-directory.js";
import { gameSourceConfigSchema, generateGames } from "../../boards/game-sources.js";
import { SPLITS } from "../../boards/splits.js";
import { defineStage } from "../stage.js";

export const DATASET_DIR = "dataset";

export const gamesStage = defineStage({
  name: "games",
  version: "3",
  description: "make a game dataset: Othello or chess random games, chess engine self-play, or PGN import",
  configSchema: gameSourceConfigSchema,
  inputs: [],
  // Imported PGN files enter the key by size and modification time: replacing a file reruns the import.
  async fingerprint(config) {
    if (config.game !== "chess" || config.source !== "pgn") return undefined;
    return Promise.all(
      config.files.map(async (file) => {
        const info = await stat(file).catch(() => undefined);
        return info ? { file: path.resolve(file), bytes: info.size, modified: info.mtimeMs } : { file: path.resolve(file), missing: true };
      }),
    );
  },
  async run({ config, dir, progress, log, signal }) {
    const generated = await generateGames(config, { signal, onProgress: (done, total) => progress(done, total, "games") });
    const { rows } = generated;
    const manifest = await writeDatasetDirectory(path.join(dir, DATASET_DIR), generated.game, rows, {
      ...config,
      ...(generated.importStats ? { importStats: generated.importStats } : {}),
    });
    const metrics: Record<string, number> = {
      games: rows.length,
      meanLength: rows.reduce((sum, row) => sum + row.length, 0) / Math.max(1, rows.length),
    };
    for (const split of SPLITS) metrics[`${split}Games`] = manifest.counts[split];
    if (generated.importStats) {
      metrics.gamesRead = generated.importStats.read;
      for (const [reason, count] of Object.entries(generated.importStats.skipped)) {
        if (count > 0) log(`skipped ${count} game(s): ${reason}`);
        metrics[`skipped.${reason}`] = count;
      }
    }
    return { outputs: { dataset: DATASET_DIR, manifest: path.join(DATASET_DIR, "manifest.json") }, metrics };
  },
});
