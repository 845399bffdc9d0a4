// What every SAE trainer is to the sweep (spec sae.md §1.5, §2): one step per batch, a resolved config that records
// every choice that changes numbers (spec §6), a checkpoint that resumes bit-identically, and its inference-form Sae.
//
// Interface:
//   TrainerContext { kernels, dIn, totalSteps, batchSize }   what a trainer is built for (from the sweep)
//   Trainer                                                   see below; one class per trainer file
//   StepLog, BatchStats, TrainerCheckpoint, JsonValue
//   ResolvedTrainerConfig                                     the fields every trainer's resolved config has
//   TrainerConfigError, TrainerStateError
//
// Adding a trainer: a file in sae/trainers/ exporting its zod config schema and a class implementing Trainer,
// registered in sae/trainers/index.ts (TRAINER_CONFIG_SCHEMAS and createTrainer).

import type { Kernels } from "../../compute/kernels.js";
import type { Normalization } from "../normalize.js";
import type { Architecture, Sae } from "../params.js";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface TrainerContext {
  kernels: Kernels;
  /** Activation width d_in (the activation source's d). */
  dIn: number;
  /** S: the steps the run is planned for (schedules and short-run scaling depend on it). */
  totalSteps: number;
  /** B: rows per batch. */
  batchSize: number;
}

/** Fields every resolved trainer config has (training.json); each trainer adds its own. */
export interface ResolvedTrainerConfig {
  trainer: string;
  /** The saved SAELens architecture (spec §4). */
  architecture: Architecture;
  dIn: number;
  dSae: number;
  seed: number;
  totalSteps: number;
  batchSize: number;
  lr: number;
  adam: { beta1: number; beta2: number; eps: number };
  decoder: { projectionEps: number; renormEps: number; clipGradNorm: number | null };
  lrWarmupSteps: number;
  lrDecayStart: number | null;
  /** Which schedule lengths were scaled for a short run (spec §1.3), and from what reference. */
  shortRun: { referenceSteps: number; scaled: string[] };
  /** spec §1.4: "unit-mean-squared-norm" makes the sweep feed this trainer x/c; absent means "none". */
  normalize?: Normalization;
}

/** One step's numbers, on the step's batch, before the update (spec §1.5 log fields). */
export interface StepLog {
  /** 0-based index of the step taken. */
  step: number;
  /** lr·λ(s) used by this step. */
  lr: number;
  /** σ(s) applied to the sparsity term. */
  sparsityScale: number;
  /** Total loss. */
  loss: number;
  /** The reconstruction term R (spec §0: mean_b ‖x − x̂‖² for l2sq, mean_b ‖x − x̂‖ for l2). */
  reconstruction: number;
  /** mean_b ‖x − x̂‖² whatever the loss uses. */
  mse: number;
  /** The sparsity term as it enters the loss (coefficient × σ(s) × penalty). */
  sparsity: number;
  /** Which path ran the decoder and backward (spec §7), for trainers that have a sparse-kernel path. */
  kernelPath?: "dense" | "sparse";
  /** Trainer-specific numbers: λ-free penalty, p, next_p, α, S_p; θ, dead count, AuxK for other trainers. */
  state: Record<string, number | null>;
}

/** L0 and batch FVE of the step's forward pass (computed on demand: they cost a pass over the batch). */
export interface BatchStats {
  /** mean_b #{i : f_i ≠ 0}. */
  l0: number;
  /** 1 − Σ_d Var_b(x_d − x̂_d) / Σ_d Var_b(x_d) (spec §3 fve). */
  fve: number;
}

/** Everything a trainer needs to continue exactly where it stopped. */
export interface TrainerCheckpoint {
  /** Steps done (= batches consumed). */
  step: number;
  /** Parameters under their SAELens names, Adam moments as "adam.m.<name>" / "adam.v.<name>", trainer arrays. */
  tensors: Record<string, Float32Array | Int32Array>;
  /** Scalars: Adam t, PRNG state, schedule state (p, next_p, α, queue, k), ... */
  values: { [key: string]: JsonValue };
}

export interface Trainer {
  /** The resolved config: every number that changes results, written to training.json before step 0. */
  readonly config: ResolvedTrainerConfig;
  /** Steps done so far. */
  readonly stepsDone: number;
  /** Trains one step on batch [batchSize, dIn] (not modified) and returns the step's numbers. */
  step(batch: Float32Array, batchSize: number): StepLog;
  /** L0 and FVE of the last step's forward pass; `batch` must be the batch that step was given. */
  batchStats(batch: Float32Array): BatchStats;
  /** Trainer-specific state for logs and training.json (p, next_p, α, ...; empty for standard). */
  trainerState(): Record<string, number | null>;
  state(): TrainerCheckpoint;
  /** Restores a checkpoint taken by a trainer of the same config; throws TrainerStateError on any mismatch. */
  restore(checkpoint: TrainerCheckpoint): void;
  /** The inference-form SAE over the live parameters (it follows further training). */
  sae(): Sae;
}

/** A trainer config that cannot be run; names the trainer, the field and the value. */
export class TrainerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrainerConfigError";
  }
}

/** A checkpoint that does not fit the trainer; names the entry and both values or sizes. */
export class TrainerStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrainerStateError";
  }
}

/** A typed value from a checkpoint's `values`, or TrainerStateError naming it. */
export function checkpointValue<T extends JsonValue>(checkpoint: TrainerCheckpoint, key: string, check: (value: JsonValue) => value is T): T {
  const value = checkpoint.values[key];
  if (value === undefined || !check(value)) throw new TrainerStateError(`checkpoint value ${key} is ${JSON.stringify(value)}, which this trainer cannot use`);
  return value;
}

/** A checkpoint tensor of the expected kind and length, or TrainerStateError naming it and both sizes. */
export function checkpointTensor<T extends Float32Array | Int32Array>(
  checkpoint: TrainerCheckpoint,
  name: string,
  kind: { new (length: number): T; name: string },
  length: number,
): T {
  const tensor = checkpoint.tensors[name];
  if (tensor === undefined) throw new TrainerStateError(`checkpoint tensor ${name} is missing`);
  if (!(tensor instanceof kind)) throw new TrainerStateError(`checkpoint tensor ${name} is a ${tensor.constructor.name}, expected ${kind.name}`);
  if (tensor.length !== length) throw new TrainerStateError(`checkpoint tensor ${name} has ${tensor.length} elements, expected ${length}`);
  return tensor;
}
