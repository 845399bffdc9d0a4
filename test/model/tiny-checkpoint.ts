// An untrained tiny model saved as a checkpoint, for tests of the stages that read one (activations, sae).
// Kept apart from train-fixtures.ts so that importing those fixtures does not load tfjs.

import { initTfjs } from "../../compute/tfjs.js";
import { saveGpt } from "../../model/checkpoint.js";
import { parseGptConfig } from "../../model/config.js";
import { createGpt, disposeGpt } from "../../model/gpt.js";
import { tinyTrainConfig } from "./train-fixtures.js";

/** tinyTrainConfig(seed), untrained, saved as the checkpoint directory `dir`. */
export async function saveTinyCheckpoint(dir: string, seed = 5): Promise<void> {
  const { tf } = await initTfjs();
  const model = createGpt(tf, tinyTrainConfig(seed));
  await saveGpt(model, dir);
  disposeGpt(model);
}

/** An untrained one-layer chess model (chess-32 characters, context `nCtx`), saved as the checkpoint directory `dir`. */
export async function saveTinyChessCheckpoint(dir: string, nCtx: number, seed = 3): Promise<void> {
  const { tf } = await initTfjs();
  const model = createGpt(tf, parseGptConfig({
    format: "sae-circuits.gpt", format_version: 1, model_name: "tiny-chess", game: "chess", tokenizer: "chess-32",
    n_layers: 1, d_model: 16, n_heads: 2, d_head: 8, d_mlp: 32, d_vocab: 32, n_ctx: nCtx, pad_token_id: null, seed,
  }));
  await saveGpt(model, dir);
  disposeGpt(model);
}
