// The `games` stage: a synthetic Othello game dataset (boards/othello/generate.ts) written as Parquet.

import path from "node:path";
import { writeGameDataset } from "../../boards/game-dataset.js";
import { generateOthelloGames, othelloGenerationConfigSchema } from "../../boards/othello/generate.js";
import { SPLITS } from "../../boards/splits.js";
import { defineStage } from "../stage.js";

export const GAMES_FILE = "games.parquet";

export const gamesStage = defineStage({
  name: "games",
  version: "1",
  description: "generate synthetic Othello games (uniformly random legal moves) as a Parquet dataset",
  configSchema: othelloGenerationConfigSchema.strict(),
  inputs: [],
  async run({ config, dir, progress, signal }) {
    const rows = await generateOthelloGames({ ...config, signal, onProgress: (done, total) => progress(done, total, "games") });
    await writeGameDataset(path.join(dir, GAMES_FILE), rows, { game: "othello" });
    const metrics: Record<string, number> = {
      games: rows.length,
      meanLength: rows.reduce((sum, row) => sum + row.length, 0) / Math.max(1, rows.length),
    };
    for (const split of SPLITS) metrics[`${split}Games`] = rows.filter((row) => row.split === split).length;
    return { outputs: { games: GAMES_FILE }, metrics };
  },
});
