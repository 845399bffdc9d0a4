// A trainer checkpoint on disk (spec sae.md §1.5): `<dir>/state.safetensors` holds the tensors (parameters,
// Adam moments, trainer arrays; 1-D, F32 or I32) and `<dir>/state.json` the step and the scalar state. The directory
// is written beside its destination and renamed into place, so a reader never sees half a checkpoint.
//
// Interface:
//   CHECKPOINT_TENSORS_FILE, CHECKPOINT_STATE_FILE
//   writeTrainerCheckpoint(dir, checkpoint), readTrainerCheckpoint(dir) → TrainerCheckpoint
//   CheckpointFormatError (names the file and the entry)

import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { writeFileAtomic } from "../io/atomic-write.js";
import { replaceDirectory } from "../model/checkpoint.js";
import { encodeSafetensors, readSafetensors, type SafetensorsTensor } from "../model/safetensors.js";
import type { JsonValue, TrainerCheckpoint } from "./trainers/trainer.js";

export const CHECKPOINT_TENSORS_FILE = "state.safetensors";
export const CHECKPOINT_STATE_FILE = "state.json";

export class CheckpointFormatError extends Error {
  constructor(file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = "CheckpointFormatError";
  }
}

export async function writeTrainerCheckpoint(dir: string, checkpoint: TrainerCheckpoint): Promise<void> {
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const [name, data] of Object.entries(checkpoint.tensors)) {
    tensors[name] = { dtype: data instanceof Int32Array ? "I32" : "F32", shape: [data.length], data };
  }
  const temporary = `${dir}.tmp-${process.pid}`;
  await rm(temporary, { recursive: true, force: true });
  await mkdir(temporary, { recursive: true });
  await writeFileAtomic(path.join(temporary, CHECKPOINT_TENSORS_FILE), encodeSafetensors(tensors));
  await writeFileAtomic(path.join(temporary, CHECKPOINT_STATE_FILE), JSON.stringify({ step: checkpoint.step, values: checkpoint.values }) + "\n");
  await replaceDirectory(temporary, dir);
}

export async function readTrainerCheckpoint(dir: string): Promise<TrainerCheckpoint> {
  const stateFile = path.join(dir, CHECKPOINT_STATE_FILE);
  let state: { step?: unknown; values?: unknown };
  try {
    state = JSON.parse(await readFile(stateFile, "utf8")) as typeof state;
  } catch (error) {
    throw new CheckpointFormatError(stateFile, `cannot be read as JSON (${(error as Error).message})`);
  }
  if (typeof state.step !== "number" || typeof state.values !== "object" || state.values === null || Array.isArray(state.values)) {
    throw new CheckpointFormatError(stateFile, "expected { step: number, values: object }");
  }
  const tensorsFile = path.join(dir, CHECKPOINT_TENSORS_FILE);
  const file = await readSafetensors(tensorsFile);
  const tensors: TrainerCheckpoint["tensors"] = {};
  for (const [name, tensor] of file.tensors) {
    if (tensor.data instanceof Float32Array || tensor.data instanceof Int32Array) tensors[name] = tensor.data.slice();
    else throw new CheckpointFormatError(tensorsFile, `tensor ${name} is ${tensor.dtype}, expected F32 or I32`);
  }
  return { step: state.step, tensors, values: state.values as { [key: string]: JsonValue } };
}
