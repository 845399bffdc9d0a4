// A tiny Othello model and a small seeded dataset for training tests.
import { gameSourceConfigSchema, generateGames } from "../../boards/game-sources.js";
import type { GameRow } from "../../boards/game-dataset.js";
import { parseGptConfig, type GptConfig } from "../../model/config.js";

export function tinyTrainConfig(seed = 5): GptConfig {
  return parseGptConfig({
    format: "sae-circuits.gpt", format_version: 1, model_name: "tiny-othello", game: "othello", tokenizer: "othello-61",
    n_layers: 1, d_model: 16, n_heads: 2, d_head: 8, d_mlp: 32, d_vocab: 61, n_ctx: 59, pad_token_id: 0, seed,
  });
}

/** `count` random Othello games (seeded); every split non-empty for count ≥ a few hundred. */
export async function tinyGames(count: number, seed = 3): Promise<GameRow[]> {
  const { rows } = await generateGames(gameSourceConfigSchema.parse({ game: "othello", source: "random", count, seed }), { workers: 1 });
  return rows;
}
