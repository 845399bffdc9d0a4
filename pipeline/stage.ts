// What a stage is: a typed function from a config slice and upstream artifacts to files in its own directory.
// Stages hold no global state: everything they need arrives in the context, so an executor can run them anywhere.

import type { z } from "zod";

/** A finished stage's manifest, written last (atomically) into its directory; its presence means "done". */
export interface StageManifest {
  stage: string;
  version: string;
  key: string;
  config: unknown;
  /** Upstream stage name → its key. */
  inputs: Record<string, string>;
  /** Logical output name → file inside the stage directory, with size and content hash. */
  outputs: Record<string, { path: string; bytes: number; sha256: string }>;
  metrics: Record<string, number>;
  startedAt: string;
  finishedAt: string;
  seconds: number;
}

/** An upstream stage's finished output, as a downstream stage sees it. */
export interface Artifact {
  stage: string;
  key: string;
  dir: string;
  manifest: StageManifest;
}

export interface StageContext<Config> {
  /** The stage's config slice, defaults applied. */
  readonly config: Config;
  /** Upstream artifacts by stage name. */
  readonly inputs: Readonly<Record<string, Artifact>>;
  /** The stage's own directory; outputs go here. */
  readonly dir: string;
  readonly signal: AbortSignal;
  progress(done: number, total: number, unit?: string): void;
  metric(name: string, value: number, step?: number): void;
  log(message: string): void;
  /** The last checkpoint saved under this name by an interrupted earlier attempt, if any. */
  readCheckpoint<T>(name: string): Promise<T | undefined>;
  /** Saves a JSON checkpoint atomically; a resumed attempt reads it back. */
  writeCheckpoint(name: string, value: unknown): Promise<void>;
}

export interface StageResult {
  /** Logical output name → path relative to the stage directory. */
  outputs: Record<string, string>;
  metrics?: Record<string, number>;
}

export interface StageDefinition<Schema extends z.ZodType = z.ZodType> {
  name: string;
  /** Bump whenever the stage's code changes what it writes: it is part of the key. */
  version: string;
  description: string;
  configSchema: Schema;
  /** Upstream stages whose artifacts this stage reads. */
  inputs: readonly string[];
  /**
   * What the outputs depend on besides the config and upstream stages (e.g. the sizes and modification times of
   * files the config names); it becomes part of the key, so a changed input file reruns the stage.
   */
  fingerprint?(config: z.output<Schema>): Promise<unknown>;
  run(context: StageContext<z.output<Schema>>): Promise<StageResult>;
}

/** Identity function that fixes the config type of a stage definition. */
export function defineStage<Schema extends z.ZodType>(definition: StageDefinition<Schema>): StageDefinition<Schema> {
  return definition;
}

export type StageRegistry = ReadonlyArray<StageDefinition<z.ZodType>>;
