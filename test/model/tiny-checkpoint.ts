// An untrained tiny model saved as a checkpoint, for tests of the stages that read one (activations, sae).
// Kept apart from train-fixtures.ts so that importing those fixtures does not load tfjs.

import { initTfjs } from "../../compute/tfjs.js";
import { saveGpt } from "../../model/checkpoint.js";
import { createGpt, disposeGpt } from "../../model/gpt.js";
import { tinyTrainConfig } from "./train-fixtures.js";

/** tinyTrainConfig(seed), untrained, saved as the checkpoint directory `dir`. */
export async function saveTinyCheckpoint(dir: string, seed = 5): Promise<void> {
  const { tf } = await initTfjs();
  const model = createGpt(tf, tinyTrainConfig(seed));
  await saveGpt(model, dir);
  disposeGpt(model);
}
