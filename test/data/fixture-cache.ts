// Caches activations of the tiny model of activation-cache.test.ts in a child process, so the test can SIGKILL it
// mid-run. Usage: node --import tsx fixture-cache.ts <dataset dir> <out dir> <settings JSON>
// settings: { hooks, shardRows, batchSize, delayMs } — delayMs sleeps after each batch so the kill lands mid-run.
import { readDatasetDirectory } from "../../boards/dataset-directory.js";
import { initTfjs } from "../../compute/tfjs.js";
import { cacheActivations } from "../../data/activation-cache.js";
import { createGpt } from "../../model/gpt.js";
import { tinyTrainConfig } from "../model/train-fixtures.js";

const [datasetDir, out, settingsText] = process.argv.slice(2);
const settings = JSON.parse(settingsText) as { hooks: string[]; shardRows: number; batchSize: number; delayMs: number };
const { tf } = await initTfjs();
const rows = await readDatasetDirectory(datasetDir, ["train"]);
const pause = new Int32Array(new SharedArrayBuffer(4));
await cacheActivations({
  model: createGpt(tf, tinyTrainConfig()),
  modelSha256: "0".repeat(64),
  modelName: "tiny-othello",
  rows,
  datasetId: "fixture:train",
  split: "train",
  hooks: settings.hooks,
  out,
  shardRows: settings.shardRows,
  batchSize: settings.batchSize,
  onProgress: () => void Atomics.wait(pause, 0, 0, settings.delayMs),
});
