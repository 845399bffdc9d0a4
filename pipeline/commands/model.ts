// `saec model train|init|eval|info`: the model stage's work outside a pipeline, and a look inside checkpoints.

import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { readDatasetDirectory } from "../../boards/dataset-directory.js";
import type { Split } from "../../boards/splits.js";
import { initTfjs } from "../../compute/tfjs.js";
import { loadGpt, saveGpt } from "../../model/checkpoint.js";
import { parameterCount, presetConfig, type GptPresetName } from "../../model/config.js";
import { evaluateModel } from "../../model/evaluate.js";
import { createGpt, disposeGpt, hookNames, runWithCache } from "../../model/gpt.js";
import { TRAIN_MODEL_DIR } from "../../model/train.js";
import { parseConfigWith } from "../config.js";
import { progressReporter } from "../progress.js";
import { modelStageConfigSchema, resolvedTrainSettings, runModelJob } from "../stages/model.js";
import { collectSetting, integerOption } from "./options.js";

function formatEvaluation(e: { loss: number; legalRate: number | null; games: number; positions: number }): string {
  const legal = e.legalRate !== null ? `, top-1 legal ${(100 * e.legalRate).toFixed(2)}%` : "";
  return `val loss ${e.loss.toFixed(4)}${legal} (${e.games} games, ${e.positions} positions)`;
}

export function addModelCommands(group: Command): void {
  group
    .command("train")
    .description("train a GPT on a game dataset directory (spec model.md §4); rerun the same command to resume after an interruption")
    .requiredOption("--games <dir>", "game dataset directory (train and val splits are used)")
    .requiredOption("--out <dir>", "output directory: model/ when done, checkpoint/ while running, metrics.jsonl")
    .option("--preset <name>", "model preset", "othello-4l-128")
    .option("--seed <n>", "init and data-order seed", integerOption("--seed"), 42)
    .option("--set <key=value>", "a training setting (repeatable), e.g. --set trainTokens=2000000", collectSetting, {})
    .action(async (options: { games: string; out: string; preset: string; seed: number; set: Record<string, unknown> }) => {
      const config = parseConfigWith(modelStageConfigSchema, { preset: options.preset, seed: options.seed, train: options.set }, "saec model train");
      if (existsSync(path.join(options.out, TRAIN_MODEL_DIR))) throw new Error(`${path.join(options.out, TRAIN_MODEL_DIR)} already exists: this model is trained; choose a new --out`);
      await mkdir(options.out, { recursive: true });
      const reporter = progressReporter();
      const stage = "model train";
      const abort = new AbortController();
      process.once("SIGINT", () => abort.abort());
      reporter.emit({ type: "stage-start", stage, key: path.basename(options.out), resumed: false });
      const started = Date.now();
      process.stderr.write(`settings: ${JSON.stringify(resolvedTrainSettings(config))}\n`);
      const result = await runModelJob(config, options.games, options.out, {
        signal: abort.signal,
        log: (message) => reporter.emit({ type: "log", stage, message }),
        progress: (done, total, unit) => reporter.emit({ type: "progress", stage, done, total, unit }),
        onEval: (e) => reporter.emit({ type: "log", stage, message: `step ${e.step}: ${formatEvaluation(e)}` }),
      });
      reporter.emit({ type: "stage-end", stage, key: path.basename(options.out), seconds: (Date.now() - started) / 1000, metrics: {} });
      process.stdout.write(`${path.join(options.out, TRAIN_MODEL_DIR)}: ${result.steps} steps in ${(result.seconds / 60).toFixed(1)} min, ${formatEvaluation(result.evaluation)}\n`);
    });

  group
    .command("init")
    .description("write a randomly initialised checkpoint of a preset (the baseline for trained-model comparisons)")
    .requiredOption("--out <dir>", "checkpoint directory to write")
    .option("--preset <name>", "model preset", "othello-4l-128")
    .option("--seed <n>", "init seed", integerOption("--seed"), 42)
    .action(async (options: { out: string; preset: string; seed: number }) => {
      if (existsSync(options.out)) throw new Error(`${options.out} already exists; choose a new --out directory`);
      const { tf } = await initTfjs();
      const model = createGpt(tf, presetConfig(options.preset as GptPresetName, options.seed));
      await saveGpt(model, options.out);
      disposeGpt(model);
      process.stdout.write(`${options.out}: ${options.preset}, seed ${options.seed}, random init\n`);
    });

  group
    .command("eval")
    .description("validation loss and (Othello) top-1 legal-move rate of a checkpoint on a dataset split")
    .argument("<checkpoint>", "checkpoint directory (config.json + model.safetensors)")
    .requiredOption("--games <dir>", "game dataset directory")
    .option("--split <split>", "train | val | test", "val")
    .option("--count <n>", "games (the first of the split)", integerOption("--count"), 1000)
    .option("--json", "print the result as JSON")
    .action(async (checkpoint: string, options: { games: string; split: Split; count: number; json?: boolean }) => {
      const { tf } = await initTfjs();
      const model = await loadGpt(tf, checkpoint);
      try {
        const rows = (await readDatasetDirectory(options.games, [options.split], { checkOthelloMoves: false })).slice(0, options.count);
        const evaluation = evaluateModel(model, rows);
        process.stdout.write(options.json ? JSON.stringify(evaluation, null, 2) + "\n" : `${checkpoint} on ${options.split}: ${formatEvaluation(evaluation)}\n`);
      } finally {
        disposeGpt(model);
      }
    });

  group
    .command("info")
    .description("a checkpoint's config, parameter count, training recipe and metrics, and its hook points with shapes")
    .argument("<checkpoint>", "checkpoint directory")
    .option("--json", "print as JSON")
    .action(async (checkpoint: string, options: { json?: boolean }) => {
      const { tf } = await initTfjs();
      const model = await loadGpt(tf, checkpoint);
      try {
        const { config } = model;
        const T = config.n_ctx;
        const names = hookNames(config);
        const { logits, cache } = runWithCache(model, tf.zeros([1, T], "int32"), names);
        const hooks = names.map((name) => ({ name, shape: ["B", ...cache.get(name)!.shape.slice(1)] as (string | number)[] }));
        tf.dispose([logits, ...cache.values()]);
        for (const hook of hooks) if (hook.shape.length > 1 && hook.shape[1] === T) hook.shape[1] = "T";
        const info = { config, parameters: parameterCount(config), hooks };
        if (options.json) {
          process.stdout.write(JSON.stringify(info, null, 2) + "\n");
          return;
        }
        const lines = [
          `${checkpoint}: ${config.model_name} (${config.game}, ${config.tokenizer}), ${info.parameters.toLocaleString("en-US")} parameters`,
          `  ${config.n_layers} layers, d_model ${config.d_model}, ${config.n_heads} heads × ${config.d_head}, d_mlp ${config.d_mlp}, ` +
            `vocab ${config.d_vocab}, n_ctx ${config.n_ctx}, ${config.act_fn}${config.tied_embeddings ? ", tied" : ""}${config.use_bias ? "" : ", no biases"}`,
        ];
        if (config.source) lines.push(`  imported by ${config.source.importer} from ${config.source.file}`);
        if (config.training) lines.push(`  training: ${JSON.stringify(config.training)}`);
        if (config.metrics) lines.push(`  metrics: ${JSON.stringify(config.metrics)}`);
        lines.push(`  hook points (${hooks.length}; T = positions, at most ${T}):`);
        for (const hook of hooks) lines.push(`    ${hook.name.padEnd(32)} [${hook.shape.join(", ")}]`);
        process.stdout.write(lines.join("\n") + "\n");
      } finally {
        disposeGpt(model);
      }
    });
}
