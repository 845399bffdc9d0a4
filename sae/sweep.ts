// Sweeps in lock-step (spec sae.md §1.5): one activation stream, many trainers; each step reads one batch and feeds
// it to every trainer in list order. Output per trainer i: `<outDir>/trainer_<i>/` with training.json (written
// before step 0, rewritten with the final trainer state at the end), log.jsonl and checkpoints/step-<n>/.
//
// Interface:
//   ActivationSource                      what the sweep reads (structural subset of data/activation-source.ts)
//   sweepConfigSchema, SweepConfig        { steps, batchSize, logSteps, checkpointSteps, dIn?, trainers[] }
//   parseSweepConfig(value, label)
//   runSweep(options) → SweepResult       trains, logs, checkpoints; resumes from outDir by default
//   SweepLogEntry                         one log.jsonl line
//   ActivationMismatchError, SweepDataError, NonFiniteError, ResumeMismatchError
//
// Checkpoints and exact resume: every `checkpointSteps` steps (and at the end, and when `signal` aborts) each
// trainer's state goes to trainer_<i>/checkpoints/step-<n>/, then `<outDir>/checkpoint.json` (step n = batches
// consumed, the data cursor) is replaced atomically — that file is the commit point — and older step dirs are
// removed. On resume the caller hands in a *fresh* source positioned at its first batch; the sweep skips the n
// consumed batches with `source.skipBatches(n, batchSize)` when the source has it (it must then leave the source
// exactly where n calls of next(batchSize) would), and otherwise reads and discards them. log.jsonl lines of steps
// ≥ n (written after the checkpoint by a run that was killed) are dropped, so a resumed run's files equal an
// uninterrupted run's.
//
// Activation normalisation (spec §1.4): trainers whose resolved config has normalize "unit-mean-squared-norm" train on
// x/c. Before step 0, c is estimated from the first 100 batches of a second copy of the stream (`openSource`: opened,
// read and closed here), so training still reads `source` from its first batch — in effect the stream restarts after
// the estimate — and every trainer sees the same batches. c goes into those trainers' training.json (`normalization`),
// is read back from there on resume, and comes back in SweepResult.activationScales to be folded into the saved
// weights (sae/normalize.ts foldActivationScale). Their log.jsonl numbers are in units of x/c.

import { appendFile, mkdir, readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import type { Kernels } from "../compute/kernels.js";
import { kernels as selectedKernels } from "../compute/select.js";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic-write.js";
import { readTrainerCheckpoint, writeTrainerCheckpoint } from "./checkpoint.js";
import { estimateActivationScale, NORMALIZATION_BATCHES, NormalizationError, scaleActivations } from "./normalize.js";
import { createTrainer, parseSaeConfig, trainerConfigSchema } from "./trainers/index.js";
import type { JsonValue, StepLog, Trainer } from "./trainers/trainer.js";

/** Batches of activation rows [batchSize, d] of one hook, in a fixed order. */
export interface ActivationSource {
  readonly d: number;
  readonly hook: string;
  /** The next batch, or null at the end of the data. */
  next(batchSize: number): Promise<Float32Array | null>;
  close(): Promise<void> | void;
  /** Optional: skip `count` batches exactly as `count` calls of next(batchSize) would (used on resume). */
  skipBatches?(count: number, batchSize: number): Promise<void>;
}

export const sweepConfigSchema = z.strictObject({
  /** S: steps (= batches) to train; schedules and short-run scaling depend on it (spec §1.1: ⌊tokens/B⌋). */
  steps: z.number().int().positive(),
  batchSize: z.number().int().positive().default(8192),
  logSteps: z.number().int().positive().default(100),
  /** Checkpoint every this many steps (also at the end); null = only at the end. */
  checkpointSteps: z.number().int().positive().nullable().default(1000),
  /** The activation width the SAEs are for; when given, the source's d must equal it. */
  dIn: z.number().int().positive().optional(),
  trainers: z.array(trainerConfigSchema).min(1),
});
export type SweepConfig = z.infer<typeof sweepConfigSchema>;

/** Parses a sweep config; TrainerConfigError lists every problem as "label.path: message". */
export function parseSweepConfig(value: unknown, label: string): SweepConfig {
  return parseSaeConfig(sweepConfigSchema, value, label);
}

/** The source's rows do not fit the SAEs (width or hook). */
export class ActivationMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ActivationMismatchError";
  }
}

/** The source ran out or returned a batch of the wrong size. */
export class SweepDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SweepDataError";
  }
}

/** NaN or ±Inf in a batch or a loss: training stopped at `step`; the last good checkpoint is kept. */
export class NonFiniteError extends Error {
  constructor(
    message: string,
    readonly step: number,
    readonly lastCheckpointStep: number | null,
  ) {
    super(message);
    this.name = "NonFiniteError";
  }
}

/** outDir holds a run whose settings differ from this one's. */
export class ResumeMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ResumeMismatchError";
  }
}

export interface SweepOptions {
  config: SweepConfig;
  /** A fresh source at its first batch (also on resume: consumed batches are skipped). Not closed by the sweep. */
  source: ActivationSource;
  outDir: string;
  /** Default: the process-wide selection of compute/select.ts. */
  kernels?: Kernels;
  /** Continue from outDir/checkpoint.json when there is one (default true); false starts over. */
  resume?: boolean;
  /** Aborting stops before the next step, after writing a checkpoint of the steps done. */
  signal?: AbortSignal;
  /** Extra fields for every training.json (model name, dataset, ...). */
  info?: { [key: string]: JsonValue };
  /** Called after every step with each trainer's log of it (a progress display). */
  onStep?: (step: number, logs: StepLog[]) => void;
  /** A second fresh copy of `source` (same batches in the same order); needed when a trainer normalises (spec §1.4). */
  openSource?: () => ActivationSource | Promise<ActivationSource>;
}

export interface SweepResult {
  trainers: Trainer[];
  /** Steps done (= batches consumed). */
  stepsDone: number;
  completed: boolean;
  /** The checkpoint step this run resumed from, or null. */
  resumedFrom: number | null;
  /** Per trainer: c of spec §1.4 when it trained on x/c (fold it into the saved weights), else null. */
  activationScales: (number | null)[];
}

/** One log.jsonl line: the step's numbers, L0 and batch FVE, and the trainer state (p, next_p, α, S_p, ...). */
export interface SweepLogEntry {
  step: number;
  tokens: number;
  [field: string]: number | string | null;
}

export const SWEEP_CHECKPOINT_FILE = "checkpoint.json";
export const TRAINING_FILE = "training.json";
export const LOG_FILE = "log.jsonl";

interface SweepCheckpoint {
  step: number;
  batchSize: number;
  dIn: number;
  hook: string;
  trainers: number;
}

export function trainerDir(outDir: string, index: number): string {
  return path.join(outDir, `trainer_${index}`);
}

function checkpointDir(outDir: string, index: number, step: number): string {
  return path.join(trainerDir(outDir, index), "checkpoints", `step-${step}`);
}

async function readJsonIfPresent(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** The first non-finite value of a batch as "row r, column c (value)", or null. */
function firstNonFinite(batch: Float32Array, d: number): string | null {
  for (let i = 0; i < batch.length; i++) {
    if (!Number.isFinite(batch[i])) return `row ${Math.floor(i / d)}, column ${i % d} (${batch[i]})`;
  }
  return null;
}

/** spec §1.4 in training.json: c = √(mean over `batches` batches of mean_b ‖x‖²); the saved weights have it folded in. */
interface NormalizationRecord {
  normalize: "unit-mean-squared-norm";
  scale: number;
  batches: number;
}

/** c from the first 100 batches of a second copy of the stream, which is closed again (see the header). */
async function estimateNormalization(source: ActivationSource, openSource: SweepOptions["openSource"], batchSize: number, normalizing: number[]): Promise<NormalizationRecord> {
  if (openSource === undefined) {
    throw new NormalizationError(`trainers [${normalizing.join(", ")}] normalise activations (spec §1.4): runSweep needs openSource to estimate c from a second copy of the stream`);
  }
  const copy = await openSource();
  try {
    if (copy.d !== source.d || copy.hook !== source.hook) {
      throw new ActivationMismatchError(`openSource gave ${copy.hook} with d = ${copy.d}, the sweep's source is ${source.hook} with d = ${source.d}`);
    }
    const estimate = await estimateActivationScale(() => copy.next(batchSize), source.d, NORMALIZATION_BATCHES, `activation source for ${source.hook}`);
    return { normalize: "unit-mean-squared-norm", ...estimate };
  } finally {
    await copy.close();
  }
}

/** The c a training.json recorded, or ResumeMismatchError naming the file. */
function recordedNormalization(record: { normalization?: unknown } | undefined, file: string): NormalizationRecord {
  const saved = record?.normalization as Partial<NormalizationRecord> | null | undefined;
  if (saved?.normalize !== "unit-mean-squared-norm" || typeof saved.scale !== "number" || !(saved.scale > 0) || typeof saved.batches !== "number") {
    throw new ResumeMismatchError(`${file}: normalization is ${JSON.stringify(saved)}, this run's trainer needs the activation scale c it was trained with`);
  }
  return saved as NormalizationRecord;
}

function trainingRecord(
  trainer: Trainer,
  index: number,
  config: SweepConfig,
  source: ActivationSource,
  kernels: Kernels,
  info: SweepOptions["info"],
  normalization: NormalizationRecord | null,
) {
  return {
    trainer: trainer.config,
    normalization,
    sweep: { index, steps: config.steps, batchSize: config.batchSize, hook: source.hook, dIn: source.d, compute: { provider: kernels.name, threads: kernels.threads } },
    ...(info === undefined ? {} : { info }),
    initial: trainer.trainerState(),
    final: null as Record<string, number | null> | null,
  };
}

async function writeCheckpoint(outDir: string, trainers: Trainer[], record: Omit<SweepCheckpoint, "step">): Promise<number> {
  const step = trainers[0].stepsDone;
  for (let i = 0; i < trainers.length; i++) await writeTrainerCheckpoint(checkpointDir(outDir, i, step), trainers[i].state());
  await writeJsonAtomic(path.join(outDir, SWEEP_CHECKPOINT_FILE), { step, ...record } satisfies SweepCheckpoint);
  for (let i = 0; i < trainers.length; i++) {
    const dir = path.join(trainerDir(outDir, i), "checkpoints");
    for (const name of await readdir(dir)) if (name !== `step-${step}`) await rm(path.join(dir, name), { recursive: true, force: true });
  }
  return step;
}

/** Keeps the log lines of steps before `step`. */
async function truncateLog(file: string, step: number): Promise<void> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  const kept = text.split("\n").filter((line) => line !== "" && (JSON.parse(line) as SweepLogEntry).step < step);
  await writeFileAtomic(file, kept.map((line) => line + "\n").join(""));
}

async function skipBatches(source: ActivationSource, count: number, batchSize: number): Promise<void> {
  if (source.skipBatches) return source.skipBatches(count, batchSize);
  for (let i = 0; i < count; i++) {
    if ((await source.next(batchSize)) === null) throw new SweepDataError(`resume: activation source for ${source.hook} ended after ${i} of the ${count} batches already consumed`);
  }
}

export async function runSweep(options: SweepOptions): Promise<SweepResult> {
  const { config, source, outDir, signal, info, onStep } = options;
  const kernels = options.kernels ?? (await selectedKernels()).kernels;
  const { steps, batchSize, logSteps, checkpointSteps } = config;
  if (config.dIn !== undefined && config.dIn !== source.d) {
    throw new ActivationMismatchError(`activation source for ${source.hook} has d = ${source.d}, the sweep's SAEs have d_in = ${config.dIn}`);
  }
  const dIn = source.d;
  const trainers = config.trainers.map((trainerConfig) => createTrainer(trainerConfig, { kernels, dIn, totalSteps: steps, batchSize }));
  const sweepRecord = { batchSize, dIn, hook: source.hook, trainers: trainers.length };
  const normalizing = trainers.flatMap((trainer, i) => (trainer.config.normalize === "unit-mean-squared-norm" ? [i] : []));
  let normalization: NormalizationRecord | null = null;

  // Resume from the last committed checkpoint, or start over.
  const saved = options.resume === false ? undefined : ((await readJsonIfPresent(path.join(outDir, SWEEP_CHECKPOINT_FILE))) as SweepCheckpoint | undefined);
  let resumedFrom: number | null = null;
  if (saved !== undefined) {
    for (const [field, value] of Object.entries(sweepRecord)) {
      const savedValue = saved[field as keyof SweepCheckpoint];
      if (savedValue !== value) throw new ResumeMismatchError(`${path.join(outDir, SWEEP_CHECKPOINT_FILE)}: ${field} is ${JSON.stringify(savedValue)}, this run has ${JSON.stringify(value)}`);
    }
    for (let i = 0; i < trainers.length; i++) {
      const file = path.join(trainerDir(outDir, i), TRAINING_FILE);
      const record = (await readJsonIfPresent(file)) as { trainer?: unknown; normalization?: unknown } | undefined;
      if (JSON.stringify(record?.trainer) !== JSON.stringify(trainers[i].config)) {
        throw new ResumeMismatchError(`${file}: the saved trainer config differs from trainers[${i}] of this run (saved ${JSON.stringify(record?.trainer)})`);
      }
      if (normalizing.includes(i)) normalization = recordedNormalization(record, file);
      trainers[i].restore(await readTrainerCheckpoint(checkpointDir(outDir, i, saved.step)));
      await truncateLog(path.join(trainerDir(outDir, i), LOG_FILE), saved.step);
    }
    await skipBatches(source, saved.step, batchSize);
    resumedFrom = saved.step;
  } else {
    await rm(path.join(outDir, SWEEP_CHECKPOINT_FILE), { force: true });
    if (normalizing.length > 0) normalization = await estimateNormalization(source, options.openSource, batchSize, normalizing);
    for (let i = 0; i < trainers.length; i++) {
      const dir = trainerDir(outDir, i);
      await mkdir(dir, { recursive: true });
      await rm(path.join(dir, "checkpoints"), { recursive: true, force: true });
      await writeJsonAtomic(path.join(dir, TRAINING_FILE), trainingRecord(trainers[i], i, config, source, kernels, info, normalizing.includes(i) ? normalization : null));
      await writeFileAtomic(path.join(dir, LOG_FILE), "");
    }
  }

  const scale = normalization?.scale ?? null;
  const activationScales = trainers.map((_, i) => (normalizing.includes(i) ? scale : null));
  let lastCheckpoint: number | null = resumedFrom;
  const checkpoint = async () => {
    lastCheckpoint = await writeCheckpoint(outDir, trainers, sweepRecord);
  };
  const stopped = (step: number, detail: string) =>
    new NonFiniteError(`step ${step}: ${detail}; training stopped, last good checkpoint: ${lastCheckpoint === null ? "none" : `step ${lastCheckpoint} in ${outDir}`}`, step, lastCheckpoint);

  for (let step = resumedFrom ?? 0; step < steps; step++) {
    if (signal?.aborted) {
      if (lastCheckpoint !== step) await checkpoint();
      return { trainers, stepsDone: step, completed: false, resumedFrom, activationScales };
    }
    const batch = await source.next(batchSize);
    if (batch === null) throw new SweepDataError(`activation source for ${source.hook} ended after ${step} batches; the sweep needs ${steps}`);
    if (batch.length !== batchSize * dIn) {
      throw new SweepDataError(`step ${step}: activation source for ${source.hook} returned ${batch.length} values, expected [${batchSize}, ${dIn}] = ${batchSize * dIn}`);
    }
    const bad = firstNonFinite(batch, dIn);
    if (bad !== null) throw stopped(step, `batch ${step} of ${source.hook} has a non-finite activation at ${bad}`);
    const scaledBatch = scale === null ? batch : scaleActivations(batch, scale); // spec §1.4: x/c
    const input = (i: number) => (activationScales[i] === null ? batch : scaledBatch);
    const logs = trainers.map((trainer, i) => {
      const log = trainer.step(input(i), batchSize);
      if (!Number.isFinite(log.loss)) throw stopped(step, `trainer_${i} (${trainer.config.trainer}) has loss ${log.loss} (reconstruction ${log.reconstruction}, sparsity ${log.sparsity})`);
      return log;
    });
    if (step % logSteps === 0 || step === steps - 1) {
      for (let i = 0; i < trainers.length; i++) {
        const { state, step: _step, ...terms } = logs[i];
        const entry: SweepLogEntry = { step, tokens: (step + 1) * batchSize, ...terms, ...trainers[i].batchStats(input(i)), ...state };
        await appendFile(path.join(trainerDir(outDir, i), LOG_FILE), JSON.stringify(entry) + "\n");
      }
    }
    onStep?.(step, logs);
    if ((checkpointSteps !== null && (step + 1) % checkpointSteps === 0) || step === steps - 1) await checkpoint();
  }

  for (let i = 0; i < trainers.length; i++) {
    const file = path.join(trainerDir(outDir, i), TRAINING_FILE);
    const record = (await readJsonIfPresent(file)) as ReturnType<typeof trainingRecord>;
    await writeJsonAtomic(file, { ...record, final: trainers[i].trainerState() });
  }
  return { trainers, stepsDone: steps, completed: true, resumedFrom, activationScales };
}
