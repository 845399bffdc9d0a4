// The checkpoint entries and batch statistics every trainer has in common: trained tensors under their SAELens names
// with their Adam moments ("adam.m.<name>", "adam.v.<name>", "adamSteps"), the trainer name and step, the PRNG
// state, and L0/FVE of the last step's forward pass. Each trainer adds its own entries around these.
//
// Interface:
//   saveTrained(tensors, names, trained, adam)         writes copies of the tensors and the moments into `tensors`
//   readTrained(checkpoint, names, trained) → { tensors, adam }   checked against the live lengths; overwrites nothing
//   restoreTrained(checkpoint, names, trained, optimizer)          readTrained, then into the tensors and the optimiser
//   checkCheckpointHeader(checkpoint, trainer)         the checkpoint's trainer name and step
//   saveRandom(random), restoreRandom(checkpoint, seed)
//   lastBatchStats(trainer, pass, dIn, batch)          spec §3 L0 and batch FVE of the last forward pass

import { batchFve, meanL0 } from "../batch-stats.js";
import type { Adam, AdamState, TensorMap } from "../optim.js";
import { SaeShapeError } from "../params.js";
import { SaeRandom, type RandomState } from "../random.js";
import { checkpointTensor, checkpointValue, TrainerStateError, type BatchStats, type JsonValue, type TrainerCheckpoint } from "./trainer.js";

/** Copies of the trained tensors `names` and their Adam moments, into `tensors`. */
export function saveTrained(tensors: TrainerCheckpoint["tensors"], names: readonly string[], trained: TensorMap, adam: AdamState): void {
  for (const name of names) {
    tensors[name] = trained[name].slice();
    tensors[`adam.m.${name}`] = adam.m[name];
    tensors[`adam.v.${name}`] = adam.v[name];
  }
}

/** The saved tensors `names` and the Adam state, each checked against the live tensor's length; nothing is overwritten. */
export function readTrained(checkpoint: TrainerCheckpoint, names: readonly string[], trained: TensorMap): { tensors: TensorMap; adam: AdamState } {
  const tensors: TensorMap = {};
  const m: TensorMap = {};
  const v: TensorMap = {};
  for (const name of names) {
    const length = trained[name].length;
    tensors[name] = checkpointTensor(checkpoint, name, Float32Array, length);
    m[name] = checkpointTensor(checkpoint, `adam.m.${name}`, Float32Array, length);
    v[name] = checkpointTensor(checkpoint, `adam.v.${name}`, Float32Array, length);
  }
  const t = checkpointValue(checkpoint, "adamSteps", (value): value is number => typeof value === "number");
  return { tensors, adam: { t, m, v } };
}

/** readTrained, then the saved values into the live tensors and the optimiser. */
export function restoreTrained(checkpoint: TrainerCheckpoint, names: readonly string[], trained: TensorMap, optimizer: Adam): void {
  const saved = readTrained(checkpoint, names, trained);
  for (const name of names) trained[name].set(saved.tensors[name]);
  optimizer.restore(saved.adam);
}

/** Throws TrainerStateError unless the checkpoint is of `trainer` and its step is a step count. */
export function checkCheckpointHeader(checkpoint: TrainerCheckpoint, trainer: string): void {
  const saved = checkpointValue(checkpoint, "trainer", (value): value is string => typeof value === "string");
  if (saved !== trainer) throw new TrainerStateError(`checkpoint of a ${saved} trainer cannot restore a ${trainer} trainer`);
  if (!Number.isInteger(checkpoint.step) || checkpoint.step < 0) throw new TrainerStateError(`checkpoint step ${checkpoint.step} is not a step count`);
}

/** The PRNG's checkpoint entry (values.random). */
export function saveRandom(random: SaeRandom): JsonValue {
  const { seed, draws } = random.state();
  return { seed, draws };
}

/** The PRNG of values.random, which must have been seeded with `seed`. */
export function restoreRandom(checkpoint: TrainerCheckpoint, seed: number): SaeRandom {
  const random = checkpointValue(checkpoint, "random", (value): value is { seed: number; draws: number } =>
    typeof value === "object" && value !== null && !Array.isArray(value) && typeof value.seed === "number" && typeof value.draws === "number");
  if (random.seed !== seed) throw new TrainerStateError(`checkpoint PRNG seed ${random.seed} differs from the config's seed ${seed}`);
  return SaeRandom.restore(random satisfies RandomState);
}

/** L0 and FVE of the last forward pass; `batch` must be the batch that pass was given. */
export function lastBatchStats(
  trainer: string,
  pass: { batchSize: number; features: Float32Array; reconstruction: Float32Array },
  dIn: number,
  batch: Float32Array,
): BatchStats {
  if (pass.batchSize === 0) throw new SaeShapeError(`${trainer}: batchStats before any step`);
  if (batch.length !== pass.batchSize * dIn) {
    throw new SaeShapeError(`${trainer}: batchStats got ${batch.length} values, the last step's batch had ${pass.batchSize * dIn}`);
  }
  return { l0: meanL0(pass.features, pass.batchSize), fve: batchFve(batch, pass.reconstruction, pass.batchSize, dIn) };
}
