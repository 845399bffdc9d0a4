import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { parsePipelineConfig, type PipelineConfig } from "../../pipeline/config.js";
import { runPipeline, StageFailedError, type RunSummary } from "../../pipeline/runner.js";
import { runStatus } from "../../pipeline/status.js";
import { FIXTURE_STAGES } from "./fixture-stages.js";

async function temporaryDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), "saec-runner-"));
}

function config(runsDir: string, stages: Record<string, unknown>, extra: Record<string, unknown> = {}): PipelineConfig {
  return parsePipelineConfig({ name: "fixture", runsDir, stages, ...extra }, FIXTURE_STAGES);
}

function outcomes(summary: RunSummary): Record<string, string> {
  return Object.fromEntries(summary.stages.map((stage) => [stage.stage, stage.outcome]));
}

const BASE_STAGES = { numbers: { count: 50 }, sum: {}, letters: { text: "abc" } };

describe("pipeline runner", () => {
  it("runs a stage once and skips it the second time", async () => {
    const runsDir = await temporaryDir();
    const first = await runPipeline(config(runsDir, BASE_STAGES), { registry: FIXTURE_STAGES });
    expect(outcomes(first)).toEqual({ numbers: "ran", sum: "ran", letters: "ran" });
    const second = await runPipeline(config(runsDir, BASE_STAGES), { registry: FIXTURE_STAGES });
    expect(outcomes(second)).toEqual({ numbers: "skipped", sum: "skipped", letters: "skipped" });
    expect(second.stages.map((stage) => stage.dir)).toEqual(first.stages.map((stage) => stage.dir));
  });

  it("reruns a stage whose config slice changed, and its dependents only", async () => {
    const runsDir = await temporaryDir();
    const first = await runPipeline(config(runsDir, BASE_STAGES), { registry: FIXTURE_STAGES });
    const changed = await runPipeline(config(runsDir, { ...BASE_STAGES, numbers: { count: 60 } }), { registry: FIXTURE_STAGES });
    expect(outcomes(changed)).toEqual({ numbers: "ran", sum: "ran", letters: "skipped" });
    // the new keys give new directories; the old outputs stay where they were
    expect(changed.stages[0].dir).not.toBe(first.stages[0].dir);
    expect(existsSync(path.join(first.stages[0].dir, "manifest.json"))).toBe(true);
    const downstreamOnly = await runPipeline(config(runsDir, { ...BASE_STAGES, numbers: { count: 60 }, sum: { scale: 2 } }), {
      registry: FIXTURE_STAGES,
    });
    expect(outcomes(downstreamOnly)).toEqual({ numbers: "skipped", sum: "ran", letters: "skipped" });
  });

  it("takes the pipeline seed into the key of seeded stages", async () => {
    const runsDir = await temporaryDir();
    await runPipeline(config(runsDir, BASE_STAGES), { registry: FIXTURE_STAGES });
    const reseeded = await runPipeline(config(runsDir, BASE_STAGES, { seed: 7 }), { registry: FIXTURE_STAGES });
    expect(outcomes(reseeded)).toEqual({ numbers: "ran", sum: "ran", letters: "skipped" });
  });

  it("writes the manifest with output hashes, and an event log", async () => {
    const runsDir = await temporaryDir();
    const summary = await runPipeline(config(runsDir, BASE_STAGES), { registry: FIXTURE_STAGES });
    const manifest = JSON.parse(await readFile(path.join(summary.stages[1].dir, "manifest.json"), "utf8"));
    expect(manifest.stage).toBe("sum");
    expect(manifest.inputs).toEqual({ numbers: summary.stages[0].dir.split("-").pop() });
    expect(manifest.outputs.sum.bytes).toBeGreaterThan(0);
    expect(manifest.outputs.sum.sha256).toMatch(/^[0-9a-f]{64}$/);
    const events = (await readFile(path.join(summary.runDir, "events.jsonl"), "utf8")).trim().split("\n").map((line) => JSON.parse(line));
    const types = events.map((event) => `${event.type}:${event.stage ?? ""}`);
    expect(types[0]).toBe("run-start:");
    expect(types).toContain("stage-start:numbers");
    expect(types).toContain("stage-end:sum");
    expect(types.at(-1)).toBe("run-end:");
    expect(existsSync(path.join(summary.stages[0].dir, "checkpoints"))).toBe(false);
  });

  it("runs independent stages concurrently when allowed", async () => {
    const runsDir = await temporaryDir();
    const stages = { numbers: { count: 40, chunk: 10, delayMs: 50 }, letters: { text: "x" } };
    await runPipeline(config(runsDir, stages, { concurrency: 2 }), { registry: FIXTURE_STAGES });
    const events = (await readFile(path.join(runsDir, "fixture", "events.jsonl"), "utf8")).trim().split("\n").map((line) => JSON.parse(line));
    const lettersStart = events.findIndex((event) => event.type === "stage-start" && event.stage === "letters");
    const numbersEnd = events.findIndex((event) => event.type === "stage-end" && event.stage === "numbers");
    expect(lettersStart).toBeLessThan(numbersEnd);
  });

  it("reports a failing stage, runs what does not depend on it, and writes no manifest for it", async () => {
    const runsDir = await temporaryDir();
    const run = runPipeline(config(runsDir, { broken: {}, letters: { text: "ok" } }), { registry: FIXTURE_STAGES });
    const error = await run.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StageFailedError);
    const summary = (error as StageFailedError).summary;
    expect(outcomes(summary)).toEqual({ broken: "failed", letters: "ran" });
    expect((error as Error).message).toContain("broken on purpose");
    const broken = summary.stages.find((stage) => stage.stage === "broken")!;
    expect(existsSync(path.join(broken.dir, "manifest.json"))).toBe(false);
  });

  it("runs only the named stage and what it needs", async () => {
    const runsDir = await temporaryDir();
    const summary = await runPipeline(config(runsDir, BASE_STAGES), { registry: FIXTURE_STAGES, only: ["sum"] });
    expect(outcomes(summary)).toEqual({ numbers: "ran", sum: "ran" });
  });

  it("reports status per stage: done, incomplete, pending", async () => {
    const runsDir = await temporaryDir();
    await runPipeline(config(runsDir, BASE_STAGES), { registry: FIXTURE_STAGES, only: ["letters"] });
    const statuses = await runStatus(path.join(runsDir, "fixture"), FIXTURE_STAGES);
    expect(Object.fromEntries(statuses.map((status) => [status.stage, status.state]))).toEqual({
      numbers: "pending",
      sum: "pending",
      letters: "done",
    });
  });
});

describe("kill and resume", () => {
  const cli = path.resolve("test/pipeline/fixture-cli.ts");

  function startRun(configFile: string) {
    return spawn(process.execPath, ["--import", "tsx", cli, "run", configFile], { stdio: ["ignore", "pipe", "pipe"] });
  }

  async function finish(child: ReturnType<typeof startRun>): Promise<number | null> {
    return new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  }

  it("a stage killed mid-way resumes from its checkpoint and writes the same output as an uninterrupted run", async () => {
    const root = await temporaryDir();
    const stages = { numbers: { count: 400, chunk: 20, delayMs: 60 }, sum: {} };
    const write = async (name: string) => {
      const file = path.join(root, `${name}.json`);
      await writeFile(file, JSON.stringify({ name, runsDir: path.join(root, "runs"), stages }));
      return file;
    };
    const killedConfig = await write("killed");
    const cleanConfig = await write("clean");

    const child = startRun(killedConfig);
    let childErr = "";
    let exited = false;
    child.stderr.on("data", (chunk) => (childErr += chunk));
    child.on("exit", () => (exited = true));
    const checkpoint = async () => {
      const run = path.join(root, "runs", "killed");
      const dir = existsSync(run) ? (await readdir(run)).find((entry) => entry.startsWith("numbers-")) : undefined;
      if (!dir) return undefined;
      const file = path.join(run, dir, "checkpoints", "cursor.json");
      return existsSync(file) ? JSON.parse(await readFile(file, "utf8")) : undefined;
    };
    let cursor: { chunk: number } | undefined;
    for (let waited = 0; waited < 30_000 && !(cursor && cursor.chunk >= 3); waited += 20) {
      if (exited) throw new Error(`the run exited before it could be killed: ${childErr}`);
      await sleep(20);
      cursor = await checkpoint().catch(() => undefined);
    }
    child.kill("SIGKILL");
    await finish(child);
    expect(cursor?.chunk).toBeGreaterThanOrEqual(3);
    const statusAfterKill = await runStatus(path.join(root, "runs", "killed"), FIXTURE_STAGES);
    expect(statusAfterKill[0].state).toBe("incomplete");

    const resumed = startRun(killedConfig);
    let resumedErr = "";
    resumed.stderr.on("data", (chunk) => (resumedErr += chunk));
    expect(await finish(resumed)).toBe(0);
    expect(resumedErr).toContain("numbers: resuming");
    const events = (await readFile(path.join(root, "runs", "killed", "events.jsonl"), "utf8")).trim().split("\n").map((line) => JSON.parse(line));
    const progressAfterResume = events.filter((event) => event.type === "progress").map((event) => event.done);
    // the resumed attempt starts from the saved chunk, not from zero
    const resumeIndex = events.findLastIndex((event) => event.type === "stage-start" && event.stage === "numbers");
    const firstResumedProgress = events.slice(resumeIndex).find((event) => event.type === "progress");
    expect(firstResumedProgress.done).toBeGreaterThan(cursor!.chunk);
    expect(progressAfterResume.length).toBeGreaterThan(0);

    expect(await finish(startRun(cleanConfig))).toBe(0);
    const read = async (run: string, stage: string, file: string) => {
      const dir = (await readdir(path.join(root, "runs", run))).find((entry) => entry.startsWith(`${stage}-`))!;
      return readFile(path.join(root, "runs", run, dir, file), "utf8");
    };
    expect(await read("killed", "numbers", "numbers.txt")).toBe(await read("clean", "numbers", "numbers.txt"));
    expect(await read("killed", "sum", "sum.json")).toBe(await read("clean", "sum", "sum.json"));
  });
});
