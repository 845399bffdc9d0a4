// Entry point of the board-metrics benchmark's evaluating process (spawned by bench/board.ts, so the peak RSS it
// reports is the evaluation's alone). Usage: node dist/bench/board-process.js '<BoardMeasurementRequest JSON>';
// prints one BoardMeasurement JSON line on stdout, progress on stderr.

import { measureBoard, type BoardMeasurementRequest } from "./board.js";

const [requestText] = process.argv.slice(2);
if (!requestText) throw new Error("board-process: expected a BoardMeasurementRequest JSON argument");
const measurement = await measureBoard(JSON.parse(requestText) as BoardMeasurementRequest, (line) => process.stderr.write(`${line}\n`));
process.stdout.write(`${JSON.stringify(measurement)}\n`);
