// Executors run one stage job. The local one calls the stage function in this process; a job queue that runs
// stages on other machines implements the same interface (jobs are plain data: names, configs, paths).

import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { writeJsonAtomic } from "../io/atomic-write.js";
import type { EventSink } from "./events.js";
import type { Artifact, StageContext, StageRegistry, StageResult } from "./stage.js";

export interface StageJob {
  run: string;
  stage: string;
  key: string;
  config: unknown;
  inputs: Record<string, Artifact>;
  dir: string;
}

export interface Executor {
  execute(job: StageJob, events: EventSink, signal: AbortSignal): Promise<StageResult>;
}

export const CHECKPOINT_DIR = "checkpoints";

/** Minimum seconds between two progress events of one stage in the event log. */
const PROGRESS_INTERVAL_MS = 1000;

export class LocalExecutor implements Executor {
  constructor(private readonly registry: StageRegistry) {}

  async execute(job: StageJob, events: EventSink, signal: AbortSignal): Promise<StageResult> {
    const definition = this.registry.find((stage) => stage.name === job.stage);
    if (!definition) throw new Error(`executor: no stage named "${job.stage}" is registered`);
    await mkdir(job.dir, { recursive: true });
    const checkpointFile = (name: string) => {
      if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`stage ${job.stage}: bad checkpoint name "${name}"`);
      return path.join(job.dir, CHECKPOINT_DIR, `${name}.json`);
    };
    let lastProgress = 0;
    const context: StageContext<unknown> = {
      config: job.config,
      inputs: job.inputs,
      dir: job.dir,
      signal,
      progress(done, total, unit = "items") {
        const now = Date.now();
        if (done < total && now - lastProgress < PROGRESS_INTERVAL_MS) return;
        lastProgress = now;
        events.emit({ type: "progress", stage: job.stage, done, total, unit });
      },
      metric(name, value, step) {
        events.emit({ type: "metric", stage: job.stage, name, value, step });
      },
      log(message) {
        events.emit({ type: "log", stage: job.stage, message });
      },
      async readCheckpoint<T>(name: string): Promise<T | undefined> {
        try {
          return JSON.parse(await readFile(checkpointFile(name), "utf8")) as T;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
          throw error;
        }
      },
      async writeCheckpoint(name, value) {
        await writeJsonAtomic(checkpointFile(name), value);
      },
    };
    const result = await definition.run(context);
    await rm(path.join(job.dir, CHECKPOINT_DIR), { recursive: true, force: true });
    return result;
  }
}
