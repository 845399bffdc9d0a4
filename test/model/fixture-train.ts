// Trains the tiny model of train.test.ts in a child process, so the test can SIGKILL it mid-run.
// Usage: node --import tsx fixture-train.ts <dataset dir> <out dir> <settings JSON>
import { readDatasetDirectory } from "../../boards/dataset-directory.js";
import { initTfjs } from "../../compute/tfjs.js";
import { createGpt } from "../../model/gpt.js";
import { trainGpt } from "../../model/train.js";
import { tinyTrainConfig } from "./train-fixtures.js";

const [datasetDir, out, settings] = process.argv.slice(2);
const { tf } = await initTfjs();
const [train, val] = [await readDatasetDirectory(datasetDir, ["train"]), await readDatasetDirectory(datasetDir, ["val"])];
await trainGpt({ model: createGpt(tf, tinyTrainConfig()), settings: JSON.parse(settings), train, val, out });
