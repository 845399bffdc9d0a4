// Runs a plan: stages whose manifest exists are skipped, the rest run as soon as their inputs are done (up to
// `concurrency` at once), and each finished stage gets its manifest written last, atomically.

import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { createHash } from "node:crypto";
import path from "node:path";
import { writeJsonAtomic } from "../io/atomic-write.js";
import type { PipelineConfig } from "./config.js";
import { fanOut, JsonlEventLog, type EventSink } from "./events.js";
import { LocalExecutor, type Executor } from "./executor.js";
import { checkRegistry, planRun, type PlannedStage } from "./plan.js";
import type { Artifact, StageManifest, StageRegistry, StageResult } from "./stage.js";

export const MANIFEST_FILE = "manifest.json";
export const RUN_CONFIG_FILE = "config.json";
export const EVENTS_FILE = "events.jsonl";

export interface RunOptions {
  registry: StageRegistry;
  executor?: Executor;
  /** Extra event sinks (progress display); the JSONL log is always written. */
  sinks?: EventSink[];
  /** Run only these stages and what they need. */
  only?: string[];
  signal?: AbortSignal;
}

export type StageOutcome = "ran" | "skipped" | "failed" | "not-run";

export interface RunSummary {
  runDir: string;
  ok: boolean;
  stages: { stage: string; key: string; dir: string; outcome: StageOutcome; error?: string }[];
}

export class StageFailedError extends Error {
  constructor(readonly summary: RunSummary) {
    const failures = summary.stages.filter((stage) => stage.outcome === "failed");
    super(`run failed: ${failures.map((stage) => `${stage.stage}: ${stage.error}`).join("; ")}`);
    this.name = "StageFailedError";
  }
}

export class MissingOutputError extends Error {
  constructor(stage: string, output: string, file: string) {
    super(`stage ${stage}: declared output "${output}" was not written (${file})`);
    this.name = "MissingOutputError";
  }
}

/** The manifest of a finished stage, or undefined if it has not finished. */
export async function readManifest(dir: string): Promise<StageManifest | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), "utf8")) as StageManifest;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

async function fileSha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function describeOutputs(stage: string, dir: string, outputs: Record<string, string>) {
  const described: StageManifest["outputs"] = {};
  for (const [name, relative] of Object.entries(outputs)) {
    const file = path.join(dir, relative);
    const info = await stat(file).catch(() => undefined);
    if (!info) throw new MissingOutputError(stage, name, file);
    described[name] = {
      path: relative,
      bytes: info.isFile() ? info.size : 0,
      sha256: info.isFile() ? await fileSha256(file) : "",
    };
  }
  return described;
}

/** Stages named in `only` plus everything upstream of them. */
function selectStages(stages: PlannedStage[], only: string[] | undefined): PlannedStage[] {
  if (!only) return stages;
  const wanted = new Set<string>();
  const add = (name: string) => {
    const stage = stages.find((candidate) => candidate.definition.name === name);
    if (!stage) throw new Error(`no stage "${name}" in this run (its config has: ${stages.map((s) => s.definition.name).join(", ")})`);
    if (wanted.has(name)) return;
    wanted.add(name);
    stage.definition.inputs.forEach(add);
  };
  only.forEach(add);
  return stages.filter((stage) => wanted.has(stage.definition.name));
}

export async function runPipeline(config: PipelineConfig, options: RunOptions): Promise<RunSummary> {
  checkRegistry(options.registry);
  const plan = await planRun(config, options.registry);
  const stages = selectStages(plan.stages, options.only);
  const executor = options.executor ?? new LocalExecutor(options.registry);
  const signal = options.signal ?? new AbortController().signal;
  await writeJsonAtomic(path.join(plan.runDir, RUN_CONFIG_FILE), config);
  const events = fanOut(new JsonlEventLog(path.join(plan.runDir, EVENTS_FILE)), ...(options.sinks ?? []));
  const started = Date.now();
  events.emit({ type: "run-start", run: config.name, stages: stages.map((stage) => stage.definition.name) });

  const outcomes = new Map<string, RunSummary["stages"][number]>();
  const artifacts: Record<string, Artifact> = {};

  const runStage = async (stage: PlannedStage): Promise<void> => {
    const name = stage.definition.name;
    const record = { stage: name, key: stage.key, dir: stage.dir, outcome: "not-run" as StageOutcome, error: undefined as string | undefined };
    outcomes.set(name, record);
    const existing = await readManifest(stage.dir);
    if (existing) {
      artifacts[name] = { stage: name, key: stage.key, dir: stage.dir, manifest: existing };
      record.outcome = "skipped";
      events.emit({ type: "stage-skip", stage: name, key: stage.key });
      return;
    }
    const resumed = await stat(stage.dir).then(() => true, () => false);
    const startedAt = new Date();
    events.emit({ type: "stage-start", stage: name, key: stage.key, resumed });
    try {
      const inputs = Object.fromEntries(stage.definition.inputs.map((input) => [input, artifacts[input]]));
      const result: StageResult = await executor.execute(
        { run: config.name, stage: name, key: stage.key, config: stage.config, inputs, dir: stage.dir },
        events,
        signal,
      );
      const finishedAt = new Date();
      const manifest: StageManifest = {
        stage: name,
        version: stage.definition.version,
        key: stage.key,
        config: stage.config,
        inputs: stage.inputs,
        outputs: await describeOutputs(name, stage.dir, result.outputs),
        metrics: result.metrics ?? {},
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        seconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
      };
      await writeJsonAtomic(path.join(stage.dir, MANIFEST_FILE), manifest);
      artifacts[name] = { stage: name, key: stage.key, dir: stage.dir, manifest };
      record.outcome = "ran";
      events.emit({ type: "stage-end", stage: name, key: stage.key, seconds: manifest.seconds, metrics: manifest.metrics });
    } catch (error) {
      record.outcome = "failed";
      record.error = error instanceof Error ? error.message : String(error);
      events.emit({ type: "stage-error", stage: name, key: stage.key, message: record.error });
    }
  };

  // Dependency-ordered scheduling: start every stage whose inputs are done, up to `concurrency` at once.
  const pending = [...stages];
  const running = new Map<string, Promise<void>>();
  let failed = false;
  while (pending.length > 0 || running.size > 0) {
    if (!failed && !signal.aborted) {
      for (let i = 0; i < pending.length && running.size < config.concurrency; ) {
        const stage = pending[i];
        const ready = stage.definition.inputs.every((input) => {
          const outcome = outcomes.get(input)?.outcome;
          return outcome === "ran" || outcome === "skipped";
        });
        if (!ready) {
          i++;
          continue;
        }
        pending.splice(i, 1);
        const name = stage.definition.name;
        running.set(name, runStage(stage).finally(() => running.delete(name)));
      }
    }
    if (running.size === 0) break; // nothing runnable: a failure or an abort upstream
    await Promise.race(running.values());
    failed ||= [...outcomes.values()].some((outcome) => outcome.outcome === "failed");
  }
  for (const stage of pending) {
    outcomes.set(stage.definition.name, { stage: stage.definition.name, key: stage.key, dir: stage.dir, outcome: "not-run" });
  }

  const summary: RunSummary = {
    runDir: plan.runDir,
    ok: !failed && pending.length === 0,
    stages: stages.map((stage) => outcomes.get(stage.definition.name)!),
  };
  events.emit({ type: "run-end", run: config.name, ok: summary.ok, seconds: (Date.now() - started) / 1000 });
  if (failed) throw new StageFailedError(summary);
  return summary;
}
