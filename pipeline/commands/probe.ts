// `saec probe train`: the probe stage's job (spec board-metrics.md §9 linear probes) on any checkpoint and dataset.

import type { Command } from "commander";
import { SPLITS, type Split } from "../../boards/splits.js";
import { formatProbeTable, probeStageConfigSchema, PROBE_METRICS_FILE, PROBE_WEIGHTS_FILE, runProbeJob } from "../stages/probe.js";
import { PROBE_TRAINING_DEFAULTS } from "../../boards/metrics/linear-probe.js";
import { integerOption, listOption } from "./options.js";

interface TrainOptions {
  model: string;
  games: string;
  out: string;
  hooks?: string[];
  trainSplit: string;
  trainGames: number;
  evalSplit: string;
  labelGames: number;
  reconGames: number;
  epochs: number;
  batchGames: number;
  seed: number;
  memoryMb: number;
}

function splitOption(flag: string, value: string): Split {
  if (!(SPLITS as readonly string[]).includes(value)) throw new RangeError(`${flag}: expected one of ${SPLITS.join(", ")}, found "${value}"`);
  return value as Split;
}

/** Consecutive runs of hooks whose activations (`rows` × width float32) fit in `bytes`: one model pass each (≥ 1 hook). */
export function addProbeCommands(group: Command): void {
  group
    .command("train")
    .description("linear probes of the board (spec board-metrics.md §9): per hook, trained on the first games of --train-split, scored on the reconstruction set of --eval-split")
    .requiredOption("--model <dir>", "checkpoint directory (config.json + model.safetensors)")
    .requiredOption("--games <dir>", "game dataset directory")
    .requiredOption("--out <dir>", `output directory: ${PROBE_WEIGHTS_FILE} and ${PROBE_METRICS_FILE}`)
    .option("--hooks <names>", "comma-separated hook names (default: blocks.L.hook_resid_post for every layer L)", listOption("--hooks"))
    .option("--train-split <split>", "split the probes are trained on", "val")
    .option("--train-games <n>", "train on the first n games of the split (all if fewer)", integerOption("--train-games"), 10_000)
    .option("--eval-split <split>", "split holding the labelling and reconstruction sets", "test")
    .option("--label-games <n>", "labelling games skipped before the reconstruction set (spec §2)", integerOption("--label-games"), 1000)
    .option("--recon-games <n>", "reconstruction games the probes are scored on", integerOption("--recon-games"), 1000)
    .option("--epochs <n>", "passes over the training games", integerOption("--epochs"), PROBE_TRAINING_DEFAULTS.epochs)
    .option("--batch-games <n>", "games per AdamW step", integerOption("--batch-games"), PROBE_TRAINING_DEFAULTS.batchGames)
    .option("--seed <n>", "probe init and game order", integerOption("--seed"), PROBE_TRAINING_DEFAULTS.seed)
    .option("--memory-mb <n>", "activations held at once; hooks beyond it take another model pass", integerOption("--memory-mb"), 4096)
    .action(async (options: TrainOptions) => {
      const trainSplit = splitOption("--train-split", options.trainSplit);
      const evalSplit = splitOption("--eval-split", options.evalSplit);
      for (const flag of ["trainGames", "epochs", "batchGames", "memoryMb"] as const) {
        if (options[flag] < 1) throw new RangeError(`--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: expected a positive integer, found ${options[flag]}`);
      }
      const job = probeStageConfigSchema.parse({
        ...(options.hooks === undefined ? {} : { hooks: options.hooks }),
        trainSplit, trainGames: options.trainGames, evalSplit, labelGames: options.labelGames, reconGames: options.reconGames,
        epochs: options.epochs, batchGames: options.batchGames, seed: options.seed, memoryMb: options.memoryMb,
      });
      const metrics = await runProbeJob(job, options.model, options.games, options.out);
      process.stdout.write(
        `${options.out}: ${Object.keys(metrics.hooks).length} ${metrics.function} probe(s) of ${metrics.model}, trained on ${metrics.train.games} ${trainSplit} games (${metrics.train.positions} positions), ` +
          `scored on ${metrics.eval.games} ${evalSplit} games (${metrics.eval.positions} positions)\n${formatProbeTable(metrics)}\n`,
      );
    });
}
