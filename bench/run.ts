// Benchmark entry: `node dist/bench/run.js [name...]` (npm run bench -- compute boards model activations sae board); no name runs every benchmark.

import { activationsBench } from "./activations.js";
import { boardBench } from "./board.js";
import { boardsBench } from "./boards.js";
import { computeBench } from "./compute.js";
import { modelBench } from "./model.js";
import { saeBench } from "./sae.js";

const BENCHMARKS: Record<string, () => Promise<void>> = {
  compute: computeBench,
  boards: boardsBench,
  model: modelBench,
  activations: activationsBench,
  sae: saeBench,
  board: boardBench,
};

export class UnknownBenchmarkError extends Error {
  constructor(name: string) {
    super(`unknown benchmark "${name}" (known: ${Object.keys(BENCHMARKS).join(", ")})`);
    this.name = "UnknownBenchmarkError";
  }
}

async function main(names: string[]): Promise<void> {
  const selected = names.length > 0 ? names : Object.keys(BENCHMARKS);
  for (const name of selected) {
    if (!Object.hasOwn(BENCHMARKS, name)) throw new UnknownBenchmarkError(name);
  }
  for (const name of selected) {
    process.stderr.write(`bench ${name}\n`);
    await BENCHMARKS[name]();
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = error instanceof UnknownBenchmarkError ? 2 : 1;
});
