// The model benchmark (the shipped default GPT, spec model.md §3/§4): training tokens/s through trainGpt and
// forward tokens/s, with the matmuls on the compute provider's sgemm and on tfjs-wasm's stock kernels, against
// the same model in PyTorch on the same machine in the same run, and the training process's peak RSS.

import { spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { generateOthelloGames } from "../boards/othello/generate.js";
import { kernels as selectedKernels } from "../compute/select.js";
import { initTfjs } from "../compute/tfjs.js";
import { writeJsonAtomic } from "../io/atomic-write.js";
import { parameterCount, presetConfig, type GptPresetName } from "../model/config.js";
import { createGpt, disposeGpt, forward } from "../model/gpt.js";
import { PRESET_TRAIN_SETTINGS, stepGeometry, trainSettingsSchema } from "../model/train.js";
import { tokenSequences } from "../model/training-data.js";
import { runBenchProcess } from "./bench-process.js";
import { benchMachine, machineLine, type BenchMachine } from "./machine.js";
import { checkTrainingRequest, type TrainingMeasurement, type TrainingMeasurementRequest } from "./model-training.js";
import { referenceScript, SYSTEM_PYTHON, torchMissingReason } from "./torch-reference.js";

export interface ModelBenchOptions {
  /** An Othello preset with a spec §4 training recipe (its batchTokens and microBatch are used). */
  preset: GptPresetName;
  /** Training steps run and not timed first, per variant (at least 1). */
  warmupSteps: number;
  /** Timed training steps with the matmuls routed to the compute provider. */
  timedSteps: number;
  /** Timed training steps on tfjs-wasm's stock matmul kernels; 0 skips that variant. */
  stockTimedSteps: number;
  /** Random Othello games the training steps draw from. */
  games: number;
  /** Sequences of n_ctx tokens per forward pass. */
  forwardBatch: number;
  forwardWarmup: number;
  forwardReps: number;
  /** Where the JSON results go. */
  outputFile: string;
}

export function defaultModelBenchOptions(): ModelBenchOptions {
  return {
    preset: "othello-4l-128",
    warmupSteps: 2,
    timedSteps: 8,
    stockTimedSteps: 3,
    games: 2_000,
    forwardBatch: 64,
    forwardWarmup: 2,
    forwardReps: 10,
    outputFile: path.join(process.cwd(), ".bench", "model.json"),
  };
}

type MatmulVariant = "routed" | "stock";

/** Timed repetitions of one workload of `tokens` tokens (a training step or a forward pass). */
export interface Timing {
  tokens: number;
  /** Each timed repetition, in order. */
  seconds: number[];
  /** Over the fastest repetition: other load on the machine only ever adds time. */
  tokensPerSecond: number;
  meanTokensPerSecond: number;
}

function timing(seconds: number[], tokens: number): Timing {
  const mean = seconds.reduce((sum, value) => sum + value, 0) / seconds.length;
  return { tokens, seconds, tokensPerSecond: tokens / Math.min(...seconds), meanTokensPerSecond: tokens / mean };
}

interface TrainingResult extends Omit<TrainingMeasurement, "stepSeconds" | "tokensPerStep"> {
  variant: MatmulVariant;
  warmupSteps: number;
  timing: Timing;
}

interface ForwardResult {
  variant: MatmulVariant;
  backend: string;
  matmulProvider: string | null;
  threads: number;
  batch: number;
  warmup: number;
  timing: Timing;
}

type TorchResult =
  | { threads: number; torchVersion: string; train: Timing & { finalLoss: number }; forward: Timing; peakRssMiB: number }
  | { threads: number; unavailable: string };

export interface ModelBenchResults {
  date: string;
  machine: BenchMachine;
  options: Omit<ModelBenchOptions, "outputFile">;
  model: { preset: GptPresetName; parameters: number; nCtx: number; sequencesPerStep: number; microBatch: number };
  /** True when run through tsx from the TypeScript sources rather than from dist/. */
  fromSources: boolean;
  training: TrainingResult[];
  forward: ForwardResult[];
  torch: TorchResult;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/** One training measurement in a fresh Node process, so its peak RSS is its own. */
function runTrainingProcess(request: TrainingMeasurementRequest): Promise<TrainingMeasurement> {
  return runBenchProcess<TrainingMeasurement>("model-training-process", request);
}

async function measureTrainingVariant(variant: MatmulVariant, timedSteps: number, options: ModelBenchOptions): Promise<TrainingResult> {
  const request = { preset: options.preset, warmupSteps: options.warmupSteps, timedSteps, games: options.games, routeMatMul: variant === "routed" };
  const { stepSeconds, tokensPerStep, ...measurement } = await runTrainingProcess(request);
  const result = { ...measurement, variant, warmupSteps: options.warmupSteps, timing: timing(stepSeconds, tokensPerStep) };
  log(`  training, ${matmulLabel(result)}: ${formatRate(result.timing.tokensPerSecond)} tokens/s (fastest of ${timedSteps}), peak RSS ${result.peakRssMiB.toFixed(0)} MiB`);
  return result;
}

/** Forward passes without gradients on `tokens` [forwardBatch, n_ctx], in this process. */
async function measureForward(variant: MatmulVariant, tokens: Int32Array, options: ModelBenchOptions): Promise<ForwardResult> {
  const runtime = await initTfjs({ routeMatMul: variant === "routed" });
  const { tf } = runtime;
  const config = presetConfig(options.preset, 0);
  const model = createGpt(tf, config);
  const input = tf.tensor2d(tokens, [options.forwardBatch, config.n_ctx], "int32");
  const passSeconds: number[] = [];
  for (let rep = 0; rep < options.forwardWarmup + options.forwardReps; rep++) {
    const start = performance.now();
    const logits = tf.tidy(() => forward(model, input));
    logits.dataSync(); // wait for the values, as a caller reading them would
    logits.dispose();
    if (rep >= options.forwardWarmup) passSeconds.push((performance.now() - start) / 1000);
  }
  input.dispose();
  disposeGpt(model);
  const { kernels } = await selectedKernels();
  const result: ForwardResult = {
    variant,
    backend: runtime.backend,
    matmulProvider: runtime.matmulProvider,
    threads: kernels.threads,
    batch: options.forwardBatch,
    warmup: options.forwardWarmup,
    timing: timing(passSeconds, options.forwardBatch * config.n_ctx),
  };
  log(`  forward, ${matmulLabel(result)}: ${formatRate(result.timing.tokensPerSecond)} tokens/s (fastest of ${options.forwardReps})`);
  return result;
}

function runTorch(threads: number, options: ModelBenchOptions, sequencesPerStep: number, microBatch: number): TorchResult {
  const missing = torchMissingReason();
  if (missing) {
    log(`  PyTorch: unavailable: ${missing}`);
    return { threads, unavailable: missing };
  }
  const config = presetConfig(options.preset, 0);
  const settings = trainSettingsSchema.parse(PRESET_TRAIN_SETTINGS[options.preset] ?? {});
  const args = [referenceScript("gpt_step.py"), String(threads)];
  args.push("--steps", String(options.timedSteps), "--warmup", String(options.warmupSteps));
  args.push("--sequences", String(sequencesPerStep), "--micro-batch", String(microBatch));
  args.push("--forward-batch", String(options.forwardBatch), "--forward-reps", String(options.forwardReps), "--forward-warmup", String(options.forwardWarmup));
  args.push("--layers", String(config.n_layers), "--d-model", String(config.d_model), "--heads", String(config.n_heads));
  args.push("--d-mlp", String(config.d_mlp), "--vocab", String(config.d_vocab), "--n-ctx", String(config.n_ctx));
  args.push("--lr", String(settings.peakLr), "--lr-warmup", String(settings.warmupSteps));
  const run = spawnSync(SYSTEM_PYTHON, args, { encoding: "utf8" });
  if (run.status !== 0) return { threads, unavailable: `gpt_step.py exited ${run.status}: ${run.stderr.trim().split("\n").pop()}` };
  const report = JSON.parse(run.stdout.trim().split("\n").pop() ?? "") as {
    train: { seconds: number[]; tokens: number; final_loss: number };
    forward: { seconds: number[]; tokens: number };
    threads: number;
    torch_version: string;
    parameters: number;
    peak_rss_mib: number;
  };
  // the reference must be the same model: its parameter count is spec §1's formula for this config
  const expected = parameterCount(config);
  if (report.parameters !== expected) {
    return { threads, unavailable: `gpt_step.py built ${report.parameters} parameters, ${options.preset} has ${expected}` };
  }
  const result = {
    threads: report.threads,
    torchVersion: report.torch_version,
    train: { ...timing(report.train.seconds, report.train.tokens), finalLoss: report.train.final_loss },
    forward: timing(report.forward.seconds, report.forward.tokens),
    peakRssMiB: report.peak_rss_mib,
  };
  log(`  torch ${result.torchVersion} ×${result.threads}: training ${formatRate(result.train.tokensPerSecond)} tokens/s, forward ${formatRate(result.forward.tokensPerSecond)} tokens/s`);
  return result;
}

export async function runModelBenchmark(options = defaultModelBenchOptions()): Promise<ModelBenchResults> {
  const config = presetConfig(options.preset, 0);
  if (config.game !== "othello") throw new Error(`model benchmark: preset ${options.preset} is not an Othello model`);
  for (const field of ["forwardBatch", "forwardReps"] as const) {
    if (!Number.isInteger(options[field]) || options[field] < 1) throw new RangeError(`model benchmark: ${field} = ${options[field]}, expected a positive integer`);
  }
  if (!Number.isInteger(options.stockTimedSteps) || options.stockTimedSteps < 0) {
    throw new RangeError(`model benchmark: stockTimedSteps = ${options.stockTimedSteps}, expected a non-negative integer`);
  }
  checkTrainingRequest({ preset: options.preset, warmupSteps: options.warmupSteps, timedSteps: options.timedSteps, games: options.games, routeMatMul: true });
  const settings = trainSettingsSchema.parse(PRESET_TRAIN_SETTINGS[options.preset] ?? {});
  const { sequencesPerStep } = stepGeometry(settings, config.n_ctx);
  const loadAverage = os.loadavg();

  log(`  training ${options.preset}: ${sequencesPerStep} sequences × ${config.n_ctx} tokens a step, micro-batches of ${settings.microBatch}`);
  const training = [await measureTrainingVariant("routed", options.timedSteps, options)];
  if (options.stockTimedSteps > 0) training.push(await measureTrainingVariant("stock", options.stockTimedSteps, options));

  const games = await generateOthelloGames({ count: options.forwardBatch, seed: 1, workers: 1 });
  const tokens = tokenSequences(config, games).inputs;
  const forwardRuns = [await measureForward("routed", tokens, options), await measureForward("stock", tokens, options)];
  await initTfjs(); // put the matmul routing back

  const torch = runTorch(training[0].threads, options, sequencesPerStep, settings.microBatch);

  const { outputFile, ...recorded } = options;
  const results: ModelBenchResults = {
    date: new Date().toISOString(),
    machine: benchMachine(loadAverage),
    options: recorded,
    model: { preset: options.preset, parameters: parameterCount(config), nCtx: config.n_ctx, sequencesPerStep, microBatch: settings.microBatch },
    fromSources: import.meta.url.endsWith(".ts"),
    training,
    forward: forwardRuns,
    torch,
  };
  await writeJsonAtomic(outputFile, results);
  log(`results written to ${outputFile}`);
  return results;
}

function formatRate(rate: number): string {
  return rate >= 100 ? Math.round(rate).toLocaleString("en-US") : rate.toFixed(1);
}

/** Where a measurement's matmuls (and GELU, leading-axis sums) ran: "wasm + native kernels ×2" or "wasm stock kernels". */
function matmulLabel(run: { backend: string; matmulProvider: string | null; threads: number }): string {
  return run.matmulProvider ? `${run.backend} + ${run.matmulProvider} kernels ×${run.threads}` : `${run.backend} stock kernels`;
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function rateCell(run: Timing | undefined): string {
  return run ? formatRate(run.tokensPerSecond) : "–";
}

function ratioCell(ours: Timing, torch: Timing | undefined): string {
  return torch ? `${(ours.tokensPerSecond / torch.tokensPerSecond).toFixed(2)}×` : "–";
}

function timingNote(run: Timing, warmup: number, unit: string, units: string): string {
  return `fastest of ${count(run.seconds.length, unit, units)} after ${warmup} warm-up; mean ${formatRate(run.meanTokensPerSecond)} tokens/s`;
}

/** The results as a Markdown table, ready to paste into the README. */
export function modelBenchMarkdown(results: ModelBenchResults): string {
  const { model, torch } = results;
  const reference = "unavailable" in torch ? undefined : torch;
  const torchColumn = reference ? `PyTorch ${reference.torchVersion} ×${reference.threads}` : `PyTorch ×${torch.threads}`;
  const lines = [
    machineLine(results.machine, results.date),
    "",
    `${model.preset} (${model.parameters.toLocaleString("en-US")} parameters). Training step: trainGpt (forward + backward + AdamW), ` +
      `${model.sequencesPerStep} sequences × ${model.nCtx} tokens in micro-batches of ${model.microBatch}; forward: ` +
      `${results.options.forwardBatch} × ${model.nCtx} tokens, no gradients. tokens/s of the fastest timed step or pass.`,
    "",
    `| measurement | kernels | tokens/s | ${torchColumn} tokens/s | ours / PyTorch | notes |`,
    "|---|---|---:|---:|---:|---|",
  ];
  for (const run of results.training) {
    const note = `${timingNote(run.timing, run.warmupSteps, "step", "steps")}; peak RSS ${run.peakRssMiB.toFixed(0)} MiB`;
    lines.push(`| training step | ${matmulLabel(run)} | ${rateCell(run.timing)} | ${rateCell(reference?.train)} | ${ratioCell(run.timing, reference?.train)} | ${note} |`);
  }
  for (const run of results.forward) {
    const note = timingNote(run.timing, run.warmup, "pass", "passes");
    lines.push(`| forward | ${matmulLabel(run)} | ${rateCell(run.timing)} | ${rateCell(reference?.forward)} | ${ratioCell(run.timing, reference?.forward)} | ${note} |`);
  }
  lines.push("");
  const routed = results.training[0];
  lines.push(
    `Peak RSS of the training process (${matmulLabel(routed)}): ${routed.peakRssMiB.toFixed(0)} MiB ` +
      `(${routed.rssBeforeTrainingMiB.toFixed(0)} MiB before the first step, at most ${routed.rssAtStepEndMiB.toFixed(0)} MiB at the end of a step).`,
  );
  lines.push(
    "unavailable" in torch
      ? `PyTorch: unavailable: ${torch.unavailable}`
      : `${torchColumn} float32 (bench/reference/gpt_step.py: the same architecture, init and AdamW, in its own process): ` +
          `training ${timingNote(torch.train, results.options.warmupSteps, "step", "steps")}; forward ` +
          `${timingNote(torch.forward, results.options.forwardWarmup, "pass", "passes")}; peak RSS ${torch.peakRssMiB.toFixed(0)} MiB.`,
  );
  if (results.fromSources) lines.push("", "Run from the TypeScript sources through tsx.");
  return lines.join("\n");
}

/** `bench model`: measure, write .bench/model.json, print the Markdown table. */
export async function modelBench(): Promise<void> {
  const results = await runModelBenchmark();
  process.stdout.write(`${modelBenchMarkdown(results)}\n`);
}
