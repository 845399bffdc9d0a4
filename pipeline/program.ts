// The `saec` command line: run a pipeline, show a run's status, check a config, probe the machine, and one
// subcommand per stage.

import { readFileSync } from "node:fs";
import path from "node:path";
import { Command } from "commander";
import { packageRoot } from "../io/package-root.js";
import { loadPipelineConfig } from "./config.js";
import { progressReporter } from "./progress.js";
import { runPipeline, StageFailedError, type RunSummary } from "./runner.js";
import type { StageRegistry } from "./stage.js";
import { formatStatus, runStatus } from "./status.js";

function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(packageRoot(), "package.json"), "utf8")) as { version: string }).version;
}

function printSummary(summary: RunSummary): void {
  for (const stage of summary.stages) {
    process.stdout.write(`${stage.stage.padEnd(16)} ${stage.outcome.padEnd(8)} ${stage.dir}\n`);
  }
}

async function runFromFile(file: string, registry: StageRegistry, only?: string[]): Promise<void> {
  const config = await loadPipelineConfig(file, registry);
  const abort = new AbortController();
  const onSignal = () => abort.abort(new Error("interrupted"));
  process.once("SIGINT", onSignal);
  try {
    const summary = await runPipeline(config, { registry, only, sinks: [progressReporter()], signal: abort.signal });
    printSummary(summary);
    if (!summary.ok) process.exitCode = 1;
  } catch (error) {
    if (error instanceof StageFailedError) {
      printSummary(error.summary);
      process.exitCode = 1;
      return;
    }
    throw error;
  } finally {
    process.off("SIGINT", onSignal);
  }
}

/** Commands a stage adds to its own group besides `run` (e.g. `saec games show`). */
export type StageCommands = Record<string, (group: Command) => void>;

export function createProgram(registry: StageRegistry, extraCommands?: StageCommands): Command {
  const program = new Command("saec")
    .description("sae-circuits: board-game transcripts → models → SAEs → board-state metrics → feature circuits")
    .version(packageVersion())
    .showHelpAfterError();

  program
    .command("run")
    .description("run every stage of a pipeline config (JSON or YAML); finished stages are skipped")
    .argument("<config>", "pipeline config file (.json, .yaml, .yml)")
    .option("--only <stages...>", "run only these stages and what they need")
    .action(async (file: string, options: { only?: string[] }) => runFromFile(file, registry, options.only));

  program
    .command("status")
    .description("show each stage of a run: state, key, outputs, metrics")
    .argument("<run>", "run directory (runs/<name>) or run name")
    .option("--runs-dir <dir>", "where run names are looked up", "runs")
    .action(async (run: string, options: { runsDir: string }) => {
      const runDir = run.includes(path.sep) ? run : path.join(options.runsDir, run);
      process.stdout.write(formatStatus(await runStatus(runDir, registry)) + "\n");
    });

  program
    .command("check")
    .description("validate a pipeline config and print it with defaults filled in")
    .argument("<config>", "pipeline config file")
    .action(async (file: string) => {
      const config = await loadPipelineConfig(file, registry);
      process.stdout.write(JSON.stringify(config, null, 2) + "\n");
    });

  program
    .command("doctor")
    .description("print the compute provider, threads, tfjs backend and a short GFLOP/s probe")
    .option("--seconds <n>", "length of the matmul probe", "1")
    .action(async (options: { seconds: string }) => {
      // loaded on demand: tfjs and the compute providers take a while to import
      const { describeDoctor, runDoctor } = await import("./doctor.js");
      process.stdout.write(describeDoctor(await runDoctor(Number(options.seconds))) + "\n");
    });

  for (const stage of registry) {
    const group = program.command(stage.name).description(stage.description);
    group
      .command("run")
      .description(`run the "${stage.name}" stage of a pipeline config, and the stages it needs`)
      .argument("<config>", "pipeline config file")
      .action(async (file: string) => runFromFile(file, registry, [stage.name]));
    extraCommands?.[stage.name]?.(group);
  }
  return program;
}
