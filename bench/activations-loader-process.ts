// Entry point of the activations benchmark's loader process (spawned by bench/activations.ts, so the peak RSS it
// reports is the loader's alone). Usage: node dist/bench/activations-loader-process.js '<LoaderMeasurementRequest
// JSON>'; prints one LoaderMeasurement JSON line on stdout.

import { measureLoader, type LoaderMeasurementRequest } from "./activations-loader.js";

const [requestText] = process.argv.slice(2);
if (!requestText) throw new Error("activations-loader-process: expected a LoaderMeasurementRequest JSON argument");
const measurement = await measureLoader(JSON.parse(requestText) as LoaderMeasurementRequest);
process.stdout.write(`${JSON.stringify(measurement)}\n`);
