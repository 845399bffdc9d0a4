// The training half of the model benchmark: trainGpt itself (forward + backward + AdamW, spec model.md §4) on
// random Othello games for a fixed number of steps, each step timed between two onStep calls, and the process's
// peak RSS. bench/model.ts runs it in a process of its own (model-training-process.ts) so that RSS is its alone.

import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { generateOthelloGames } from "../boards/othello/generate.js";
import { kernels as selectedKernels } from "../compute/select.js";
import { initTfjs } from "../compute/tfjs.js";
import { presetConfig, type GptPresetName } from "../model/config.js";
import { createGpt, disposeGpt } from "../model/gpt.js";
import { PRESET_TRAIN_SETTINGS, stepGeometry, trainGpt, trainSettingsSchema } from "../model/train.js";

export interface TrainingMeasurementRequest {
  preset: GptPresetName;
  /** Steps run and not timed first (allocation, kernel compilation); at least 1, so step 1 has a start. */
  warmupSteps: number;
  timedSteps: number;
  /** Random games the steps draw their sequences from. */
  games: number;
  /** false: tfjs-wasm's stock matmul kernels instead of the compute provider's sgemm (compute/tfjs.ts). */
  routeMatMul: boolean;
}

export interface TrainingMeasurement {
  backend: string;
  /** The provider whose sgemm ran tfjs's matmuls, or null for the backend's own kernels. */
  matmulProvider: string | null;
  /** Where matmuls ran and why, as compute/tfjs.ts says it. */
  matmulRouting: string;
  /** The compute provider running AdamW (and the matmuls when routed). */
  provider: string;
  threads: number;
  sequencesPerStep: number;
  microBatch: number;
  /** Sequences × n_ctx, padding included: what a step processes. */
  tokensPerStep: number;
  /** Each timed step, in order. */
  stepSeconds: number[];
  finalLoss: number;
  /** RSS once tfjs, the model and the games are in memory, before the first step. */
  rssBeforeTrainingMiB: number;
  /** The largest RSS seen at the end of a step. */
  rssAtStepEndMiB: number;
  /** process.resourceUsage().maxRSS at the end: the whole process's peak (end-of-run evaluation and save included). */
  peakRssMiB: number;
}

const MIB = 1024 * 1024;
// games held out for trainGpt's end-of-run evaluation (it requires some); a handful keeps it cheap
const VALIDATION_GAMES = 8;

export function checkTrainingRequest(request: TrainingMeasurementRequest): void {
  for (const field of ["warmupSteps", "timedSteps", "games"] as const) {
    if (!Number.isInteger(request[field]) || request[field] < 1) {
      throw new RangeError(`model benchmark: ${field} = ${request[field]}, expected a positive integer`);
    }
  }
}

/** Trains a fresh `preset` model for warmupSteps + timedSteps steps through trainGpt and times the last ones. */
export async function measureTraining(request: TrainingMeasurementRequest, log: (line: string) => void = () => {}): Promise<TrainingMeasurement> {
  checkTrainingRequest(request);
  const runtime = await initTfjs({ routeMatMul: request.routeMatMul });
  const config = presetConfig(request.preset, 0);
  const steps = request.warmupSteps + request.timedSteps;
  const recipe = trainSettingsSchema.parse(PRESET_TRAIN_SETTINGS[request.preset] ?? {});
  const geometry = stepGeometry(recipe, config.n_ctx);
  const settings = {
    ...PRESET_TRAIN_SETTINGS[request.preset],
    trainTokens: steps * geometry.sequencesPerStep * config.n_ctx, // exactly `steps` steps
    evalEvery: steps, // one evaluation and checkpoint, after the last (untimed) onStep
    evalGames: VALIDATION_GAMES,
  };
  const games = await generateOthelloGames({ count: request.games + VALIDATION_GAMES, seed: 0, workers: 1 });
  const model = createGpt(runtime.tf, config);
  const out = await mkdtemp(path.join(os.tmpdir(), "saec-bench-model-"));
  const rssBeforeTrainingMiB = process.memoryUsage().rss / MIB;
  const stepEnds: number[] = [];
  let finalLoss = NaN;
  let rssAtStepEndMiB = 0;
  try {
    const result = await trainGpt({
      model,
      settings,
      train: games.slice(0, request.games),
      val: games.slice(request.games),
      out,
      onStep(progress) {
        stepEnds.push(performance.now());
        finalLoss = progress.loss;
        rssAtStepEndMiB = Math.max(rssAtStepEndMiB, process.memoryUsage().rss / MIB);
        const seconds = stepEnds.length > 1 ? (stepEnds[stepEnds.length - 1] - stepEnds[stepEnds.length - 2]) / 1000 : NaN;
        const tag = progress.step <= request.warmupSteps ? " (warm-up)" : "";
        log(`    step ${progress.step}/${progress.steps}${tag}: ${Number.isNaN(seconds) ? "–" : `${seconds.toFixed(2)} s`}, loss ${progress.loss.toFixed(3)}`);
      },
    });
    disposeGpt(result.model);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
  if (stepEnds.length !== steps) throw new Error(`model benchmark: trainGpt ran ${stepEnds.length} steps, expected ${steps}`);
  const stepSeconds = stepEnds.slice(request.warmupSteps).map((end, i) => (end - stepEnds[request.warmupSteps - 1 + i]) / 1000);
  const { kernels } = await selectedKernels();
  return {
    backend: runtime.backend,
    matmulProvider: runtime.matmulProvider,
    matmulRouting: runtime.matmulRouting,
    provider: kernels.name,
    threads: kernels.threads,
    sequencesPerStep: geometry.sequencesPerStep,
    microBatch: recipe.microBatch,
    tokensPerStep: geometry.sequencesPerStep * config.n_ctx,
    stepSeconds,
    finalLoss,
    rssBeforeTrainingMiB,
    rssAtStepEndMiB,
    peakRssMiB: (process.resourceUsage().maxRSS * 1024) / MIB,
  };
}
