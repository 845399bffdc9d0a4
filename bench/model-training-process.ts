// Entry point of the model benchmark's training process (spawned by bench/model.ts, so the peak RSS it reports is
// the training's alone). Usage: node dist/bench/model-training-process.js '<TrainingMeasurementRequest JSON>';
// prints one TrainingMeasurement JSON line on stdout, progress on stderr.

import { measureTraining, type TrainingMeasurementRequest } from "./model-training.js";

const [requestText] = process.argv.slice(2);
if (!requestText) throw new Error("model-training-process: expected a TrainingMeasurementRequest JSON argument");
const measurement = await measureTraining(JSON.parse(requestText) as TrainingMeasurementRequest, (line) => process.stderr.write(`${line}\n`));
process.stdout.write(`${JSON.stringify(measurement)}\n`);
