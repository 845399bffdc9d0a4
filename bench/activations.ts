// The activations benchmark (issue 5): the activation cache's write rate (rows/s and MB/s, the model's forward time
// apart), the cache loader's rows/s and peak RSS, and how far the loader outruns the SAE training step it feeds
// (target ≥ 3×), on the default Othello model in one run.

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { GameRow } from "../boards/game-dataset.js";
import { generateOthelloGames } from "../boards/othello/generate.js";
import { kernels as selectedKernels } from "../compute/select.js";
import { initTfjs } from "../compute/tfjs.js";
import { batchActivations, cacheActivations, cacheRowWidth } from "../data/activation-cache.js";
import type { ActivationDtype } from "../data/shards.js";
import { writeJsonAtomic } from "../io/atomic-write.js";
import { encodeGptWeights, loadGpt, MODEL_WEIGHTS_FILE } from "../model/checkpoint.js";
import { presetConfig, type GptPresetName } from "../model/config.js";
import { createGpt, disposeGpt, type Gpt } from "../model/gpt.js";
import type { LoaderMeasurement, LoaderMeasurementRequest } from "./activations-loader.js";
import { runBenchProcess } from "./bench-process.js";
import { benchMachine, machineLine, type BenchMachine } from "./machine.js";
import { SaeStepWorkload, type SaeStepShape } from "./sae-step.js";

/** One cache to write and then read: a hook of the model over the first `games` games, stored as `dtype`. */
export interface CacheCase {
  hook: string;
  dtype: ActivationDtype;
  games: number;
}

export interface ActivationsBenchOptions {
  /** An Othello preset: the model whose activations are cached. */
  preset: GptPresetName;
  /** A trained checkpoint of the preset, used when it holds model.safetensors; otherwise a random-init model. */
  modelDir: string;
  /** The caches written; each is then read by the loader with every `loaderVerify` setting. */
  caches: CacheCase[];
  /** Games per model run (cacheActivations' batchSize). */
  cacheBatchGames: number;
  shardRows: number;
  /** Rows per loader batch: the SAE batch. */
  loaderBatch: number;
  /** Shuffle-buffer rows (spec sae.md §1.1: 1000 Othello contexts of 59 positions). */
  bufferRows: number;
  loaderVerify: boolean[];
  /** Seconds of loader batches timed per run, reading more epochs as needed (at least one). */
  loaderSeconds: number;
  /** SAE training steps whose row consumption the loader must outrun; each is compared with the loaders of width dIn. */
  saeShapes: SaeStepShape[];
  /** Timed SAE steps at most (fewer when a step is slow, at least 1), after one warm-up step. */
  saeMaxSteps: number;
  /** Seconds of timed SAE steps to aim for per shape. */
  saeSeconds: number;
  /** Where the JSON results go. */
  outputFile: string;
}

/** The target: the loader yields rows at least this many times faster than the SAE trainer consumes them. */
export const LOADER_TARGET_RATIO = 3;

export function defaultActivationsBenchOptions(): ActivationsBenchOptions {
  const preset: GptPresetName = "othello-4l-128";
  return {
    preset,
    modelDir: path.join(process.cwd(), "models", preset),
    caches: [
      { hook: "blocks.2.hook_resid_post", dtype: "float32", games: 3_000 }, // the default SAE site, d 128
      { hook: "blocks.2.hook_resid_post", dtype: "float16", games: 3_000 },
      { hook: "blocks.2.mlp.hook_post", dtype: "float32", games: 1_500 }, // d 512: the width of issue 6's SAE benchmark
    ],
    cacheBatchGames: 64,
    shardRows: 65_536,
    loaderBatch: 4096,
    bufferRows: 59_000,
    loaderVerify: [true, false],
    loaderSeconds: 1.5,
    saeShapes: [
      { batch: 4096, dIn: 128, dSae: 1024 }, // the default shape: d_model 128, 8× expansion
      { batch: 4096, dIn: 512, dSae: 4096 }, // issue 6's benchmark shape
    ],
    saeMaxSteps: 5,
    saeSeconds: 3,
    outputFile: path.join(process.cwd(), ".bench", "activations.json"),
  };
}

interface CacheWriteResult extends CacheCase {
  d: number;
  rows: number;
  shards: number;
  bytes: number;
  /** batchActivations alone over the same runs of games: the model's forward and the rows read back. */
  forwardSeconds: number;
  /** cacheActivations from the call to the manifest. */
  totalSeconds: number;
  /** totalSeconds − forwardSeconds: gathering, encoding, float16 rounding, norms, SHA-256 and fsync'd writes. */
  writeSeconds: number;
}

interface LoaderResult extends LoaderMeasurement {
  hook: string;
  dtype: ActivationDtype;
  verify: boolean;
}

interface SaeConsumption {
  shape: SaeStepShape;
  provider: string;
  threads: number;
  /** Fastest timed step. */
  secondsPerStep: number;
  meanSecondsPerStep: number;
  steps: number;
  /** Rows a second the step consumes at its fastest: batch / secondsPerStep. */
  rowsPerSecond: number;
}

export interface ActivationsBenchResults {
  date: string;
  machine: BenchMachine;
  options: Omit<ActivationsBenchOptions, "outputFile" | "modelDir">;
  model: { preset: GptPresetName; source: string; backend: string; matmulProvider: string | null };
  /** True when run through tsx from the TypeScript sources rather than from dist/. */
  fromSources: boolean;
  writes: CacheWriteResult[];
  loaders: LoaderResult[];
  sae: SaeConsumption[];
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const MB = 1e6;
const MIB = 2 ** 20;

function elapsedSeconds(start: number): number {
  return (performance.now() - start) / 1000;
}

/** The checkpoint in `modelDir` when there is one, else a random-init `preset`; with the SHA-256 of its weights file. */
async function benchModel(tf: Parameters<typeof createGpt>[0], options: ActivationsBenchOptions): Promise<{ model: Gpt; sha256: string; source: string }> {
  const weights = path.join(options.modelDir, MODEL_WEIGHTS_FILE);
  if (existsSync(weights)) {
    const model = await loadGpt(tf, options.modelDir);
    if (model.config.model_name !== options.preset) log(`  note: ${options.modelDir} holds ${model.config.model_name}, not ${options.preset}`);
    return { model, sha256: createHash("sha256").update(await readFile(weights)).digest("hex"), source: `checkpoint ${options.modelDir}` };
  }
  const model = createGpt(tf, presetConfig(options.preset, 0));
  return { model, sha256: createHash("sha256").update(encodeGptWeights(model)).digest("hex"), source: "random init (seed 0)" };
}

/** batchActivations over the runs of games cacheActivations makes, after one untimed run (kernel set-up). */
function timeForward(model: Gpt, rows: readonly GameRow[], hook: string, batchGames: number): { rows: number; seconds: number } {
  batchActivations(model, rows.slice(0, batchGames), [hook]);
  const start = performance.now();
  let count = 0;
  for (let first = 0; first < rows.length; first += batchGames) count += batchActivations(model, rows.slice(first, first + batchGames), [hook]).positions.length;
  return { rows: count, seconds: elapsedSeconds(start) };
}

async function benchCacheWrites(model: Gpt, sha256: string, games: GameRow[], directory: string, options: ActivationsBenchOptions): Promise<CacheWriteResult[]> {
  const forwardTimes = new Map<string, { rows: number; seconds: number }>(); // by hook and game count
  const results: CacheWriteResult[] = [];
  for (const [index, cache] of options.caches.entries()) {
    const rows = games.slice(0, cache.games);
    const key = `${cache.hook} ${cache.games}`;
    if (!forwardTimes.has(key)) {
      forwardTimes.set(key, timeForward(model, rows, cache.hook, options.cacheBatchGames));
      log(`  forward only, ${cache.hook} over ${cache.games} games: ${formatRate(forwardTimes.get(key)!.rows / forwardTimes.get(key)!.seconds)} rows/s`);
    }
    const forward = forwardTimes.get(key)!;
    const start = performance.now();
    const { manifest } = await cacheActivations({
      model,
      modelSha256: sha256,
      modelName: model.config.model_name,
      rows,
      datasetId: "bench-random-othello:all",
      split: "all",
      hooks: [cache.hook],
      out: path.join(directory, `cache-${index}`),
      shardRows: options.shardRows,
      dtype: cache.dtype,
      batchSize: options.cacheBatchGames,
    });
    const totalSeconds = elapsedSeconds(start);
    if (manifest.rows !== forward.rows) throw new Error(`activations benchmark: the cache holds ${manifest.rows} rows, the forward-only runs gave ${forward.rows}`);
    const { d, shards } = manifest.hooks[cache.hook];
    const bytes = shards.reduce((sum, shard) => sum + shard.bytes, 0);
    const result = { ...cache, d, rows: manifest.rows, shards: shards.length, bytes, forwardSeconds: forward.seconds, totalSeconds, writeSeconds: totalSeconds - forward.seconds };
    log(`  cache write, ${cache.hook} ${cache.dtype}: ${formatRate(result.rows / totalSeconds)} rows/s, ${formatRate(bytes / MB / totalSeconds)} MB/s in all`);
    results.push(result);
  }
  return results;
}

async function benchLoaders(directory: string, options: ActivationsBenchOptions): Promise<LoaderResult[]> {
  const results: LoaderResult[] = [];
  for (const [index, cache] of options.caches.entries()) {
    for (const verify of options.loaderVerify) {
      const request: LoaderMeasurementRequest = {
        dir: path.join(directory, `cache-${index}`),
        hook: cache.hook,
        batchSize: options.loaderBatch,
        bufferRows: options.bufferRows,
        verify,
        minSeconds: options.loaderSeconds,
        minEpochs: 1,
        seed: 0,
      };
      const measurement = await runBenchProcess<LoaderMeasurement>("activations-loader-process", request);
      const result = { ...measurement, hook: cache.hook, dtype: cache.dtype, verify };
      log(`  loader, ${cache.hook} ${cache.dtype}, verify ${verify ? "on" : "off"}: ${formatRate(result.rowsPerSecond)} rows/s, peak RSS ${result.peakRssMiB.toFixed(0)} MiB`);
      results.push(result);
    }
  }
  return results;
}

/** The dense standard-SAE step of bench/sae-step.ts on random rows: its fastest step gives the rows it consumes a second. */
async function benchSaeConsumption(shape: SaeStepShape, options: ActivationsBenchOptions): Promise<SaeConsumption> {
  const { kernels } = await selectedKernels();
  const workload = new SaeStepWorkload(kernels, shape);
  const x = new Float32Array(shape.batch * shape.dIn).map(() => Math.random() * 2 - 1);
  const warmStart = performance.now();
  workload.step(x);
  const warmSeconds = elapsedSeconds(warmStart);
  const steps = Math.max(1, Math.min(options.saeMaxSteps, Math.floor(options.saeSeconds / warmSeconds)));
  const stepSeconds: number[] = [];
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    workload.step(x);
    stepSeconds.push(elapsedSeconds(start));
  }
  const secondsPerStep = Math.min(...stepSeconds); // other load on the machine only ever adds time
  const result: SaeConsumption = {
    shape,
    provider: kernels.name,
    threads: kernels.threads,
    secondsPerStep,
    meanSecondsPerStep: stepSeconds.reduce((sum, seconds) => sum + seconds, 0) / steps,
    steps,
    rowsPerSecond: shape.batch / secondsPerStep,
  };
  log(`  SAE step d_in ${shape.dIn} d_sae ${shape.dSae} batch ${shape.batch}, ${kernels.name} ×${kernels.threads}: ${secondsPerStep.toFixed(3)} s/step, ${formatRate(result.rowsPerSecond)} rows/s`);
  return result;
}

function checkOptions(options: ActivationsBenchOptions): void {
  const positive = (name: string, value: number) => {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`activations benchmark: ${name} = ${value}, expected a positive integer`);
  };
  for (const field of ["cacheBatchGames", "shardRows", "loaderBatch", "bufferRows", "saeMaxSteps"] as const) positive(field, options[field]);
  options.caches.forEach((cache, i) => positive(`caches[${i}].games`, cache.games));
  if (options.caches.length === 0) throw new RangeError("activations benchmark: no caches to write");
  if (options.loaderVerify.length === 0) throw new RangeError("activations benchmark: loaderVerify is empty");
  if (!(options.loaderSeconds > 0)) throw new RangeError(`activations benchmark: loaderSeconds = ${options.loaderSeconds}, expected a positive number`);
}

export async function runActivationsBenchmark(options = defaultActivationsBenchOptions()): Promise<ActivationsBenchResults> {
  checkOptions(options);
  const config = presetConfig(options.preset, 0);
  if (config.game !== "othello") throw new Error(`activations benchmark: preset ${options.preset} is not an Othello model`);
  for (const cache of options.caches) cacheRowWidth(config, cache.hook); // an unknown or per-pair hook fails before any work
  const loadAverage = os.loadavg(); // other work on the machine slows every rate below
  const runtime = await initTfjs();
  const { model, sha256, source } = await benchModel(runtime.tf, options);
  const games = await generateOthelloGames({ count: Math.max(...options.caches.map((cache) => cache.games)), seed: 1, workers: 1 });
  log(`  ${options.preset} (${source}) on ${runtime.matmulRouting}; ${games.length} random games`);
  const directory = await mkdtemp(path.join(os.tmpdir(), "saec-bench-activations-"));
  let writes: CacheWriteResult[];
  let loaders: LoaderResult[];
  try {
    try {
      writes = await benchCacheWrites(model, sha256, games, directory, options);
    } finally {
      disposeGpt(model);
    }
    loaders = await benchLoaders(directory, options);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
  const sae: SaeConsumption[] = [];
  for (const shape of options.saeShapes) sae.push(await benchSaeConsumption(shape, options));

  const { outputFile: _outputFile, modelDir: _modelDir, ...recorded } = options;
  const results: ActivationsBenchResults = {
    date: new Date().toISOString(),
    machine: benchMachine(loadAverage),
    options: recorded,
    model: { preset: options.preset, source, backend: runtime.backend, matmulProvider: runtime.matmulProvider },
    fromSources: import.meta.url.endsWith(".ts"),
    writes,
    loaders,
    sae,
  };
  await writeJsonAtomic(options.outputFile, results);
  log(`results written to ${options.outputFile}`);
  return results;
}

function formatRate(rate: number): string {
  if (rate >= 100) return Math.round(rate).toLocaleString("en-US");
  return rate.toFixed(rate >= 10 ? 1 : 2);
}

function seconds(value: number): string {
  return value.toFixed(value >= 10 ? 1 : 2);
}

/** The results as Markdown tables, ready to paste into the README. */
export function activationsBenchMarkdown(results: ActivationsBenchResults): string {
  const { options, model } = results;
  const matmuls = model.matmulProvider ? `${model.backend} + ${model.matmulProvider} sgemm` : `${model.backend} stock kernels`;
  const lines = [
    machineLine(results.machine, results.date),
    "",
    `Cache write: ${model.preset} (${model.source}, ${matmuls}) over random Othello games, cacheActivations in runs of ` +
      `${options.cacheBatchGames} games, shards of ${options.shardRows.toLocaleString("en-US")} rows. Forward only: ` +
      "batchActivations alone over the same runs (the model and reading the rows back); write only: total − forward " +
      "(encoding, float16 rounding, norms, SHA-256, fsync'd atomic writes). MB = 10⁶ bytes of shard files.",
    "",
    "| hook | d | dtype | games | rows | shard MB | forward only rows/s | write only rows/s | write only MB/s | total rows/s | total MB/s | seconds forward / write / total |",
    "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const w of results.writes) {
    const megabytes = w.bytes / MB;
    lines.push(
      `| ${w.hook} | ${w.d} | ${w.dtype} | ${w.games.toLocaleString("en-US")} | ${w.rows.toLocaleString("en-US")} | ${formatRate(megabytes)} | ` +
        // write only is a difference of two timings: below ~5 % of the total it is within their noise.
        (w.writeSeconds > 0.05 * w.totalSeconds
          ? `${formatRate(w.rows / w.forwardSeconds)} | ${formatRate(w.rows / w.writeSeconds)} | ${formatRate(megabytes / w.writeSeconds)} | `
          : `${formatRate(w.rows / w.forwardSeconds)} | within noise | within noise | `) +
        `${formatRate(w.rows / w.totalSeconds)} | ${formatRate(megabytes / w.totalSeconds)} | ${seconds(w.forwardSeconds)} / ${seconds(w.writeSeconds)} / ${seconds(w.totalSeconds)} |`,
    );
  }
  lines.push(
    "",
    `Loader: CacheLoader (shards decoded in its worker thread, one read ahead), batches of ${options.loaderBatch} rows through a ` +
      `shuffle buffer of ${options.bufferRows.toLocaleString("en-US")} rows, endless epochs, each run in a Node process of its own; ` +
      `rows/s over the batches after the first, read for ≥ ${options.loaderSeconds} s and ≥ 1 epoch. Peak RSS: that process's maxRSS; ` +
      "growth: peak − maxRSS before the loader opened.",
    "",
    "| hook | d | dtype | verify SHA-256 | rows/s | epochs read | first batch s | buffer MiB | shard MiB (decoded) | peak RSS MiB | growth MiB |",
    "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const l of results.loaders) {
    const bufferMiB = (options.bufferRows * l.d * 4) / MIB;
    const shardMiB = (Math.min(options.shardRows, l.rowsPerEpoch) * l.d * 4) / MIB;
    lines.push(
      `| ${l.hook} | ${l.d} | ${l.dtype} | ${l.verify ? "on" : "off"} | ${formatRate(l.rowsPerSecond)} | ${l.epochsRead.toFixed(1)} | ${seconds(l.firstBatchSeconds)} | ` +
        `${bufferMiB.toFixed(0)} | ${shardMiB.toFixed(0)} | ${l.peakRssMiB.toFixed(0)} | ${(l.peakRssMiB - l.rssBeforeMiB).toFixed(0)} |`,
    );
  }
  lines.push(
    "",
    `SAE consumption: the dense standard-SAE training step (bench/sae-step.ts: ReLU + L1, ConstrainedAdam), fastest of its timed ` +
      `steps; the loader must give rows ≥ ${LOADER_TARGET_RATIO}× as fast as the step takes them.`,
    "",
    "| SAE d_in × d_sae, batch | provider | s/step | rows/s consumed | loader (dtype, verify) | loader rows/s | loader / SAE | target ≥ 3× |",
    "|---|---|---:|---:|---|---:|---:|---|",
  );
  for (const s of results.sae) {
    const feeding = results.loaders.filter((l) => l.d === s.shape.dIn);
    const head = `| ${s.shape.dIn} × ${s.shape.dSae}, ${s.shape.batch} | ${s.provider} ×${s.threads} | ${s.secondsPerStep.toFixed(3)} | ${formatRate(s.rowsPerSecond)}`;
    if (feeding.length === 0) lines.push(`${head} | no cache of width ${s.shape.dIn} | – | – | – |`);
    for (const l of feeding) {
      const ratio = l.rowsPerSecond / s.rowsPerSecond;
      lines.push(`${head} | ${l.dtype}, verify ${l.verify ? "on" : "off"} | ${formatRate(l.rowsPerSecond)} | ${ratio.toFixed(1)}× | ${ratio >= LOADER_TARGET_RATIO ? "meets" : "below"} |`);
    }
  }
  if (results.fromSources) lines.push("", "Run from the TypeScript sources through tsx.");
  return lines.join("\n");
}

/** `bench activations`: measure, write .bench/activations.json, print the Markdown tables. */
export async function activationsBench(): Promise<void> {
  const results = await runActivationsBenchmark();
  process.stdout.write(`${activationsBenchMarkdown(results)}\n`);
}
