// `saec model train|init|eval|info`: the model stage's work outside a pipeline, and a look inside checkpoints.

import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { readDatasetDirectory } from "../../boards/dataset-directory.js";
import type { Split } from "../../boards/splits.js";
import { initTfjs } from "../../compute/tfjs.js";
import { GPT_PRESETS, parameterCount, presetConfig, type GptPresetName } from "../../model/config.js";
import { evaluateModel } from "../../model/evaluate.js";
import { createGpt, disposeGpt, hookNames, runWithCache } from "../../model/gpt.js";
import { chessSampleGame, sampleChess, sampleOthello } from "../../model/sample.js";
import { parseOthelloMoves, squareName } from "../../boards/othello/squares.js";
import { IMPORT_SCHEMES, importCheckpoint, exportState, type ImportScheme } from "../../model/importers.js";
import { gptStateDict, loadGpt, saveGpt } from "../../model/checkpoint.js";
import { writeSafetensors } from "../../model/safetensors.js";
import { writeJsonAtomic } from "../../io/atomic-write.js";
import { TRAIN_MODEL_DIR } from "../../model/train.js";
import { parseConfigWith } from "../config.js";
import { progressReporter } from "../progress.js";
import { modelStageConfigSchema, resolvedTrainSettings, runModelJob } from "../stages/model.js";
import { collectSetting, integerOption } from "./options.js";

function formatEvaluation(e: { loss: number; legalRate: number | null; games: number; positions: number }, game: "othello" | "chess"): string {
  const name = game === "othello" ? "top-1 legal" : "legal-move rate";
  const legal = e.legalRate === null ? "" : `, ${name} ${(100 * e.legalRate).toFixed(2)}%`;
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
    .option("--init-from <checkpoint>", "continue from this checkpoint's weights with a new schedule (its architecture is kept; --preset picks the default recipe)")
    .option("--set <key=value>", "a training setting (repeatable), e.g. --set trainTokens=2000000", collectSetting, {})
    .action(async (options: { games: string; out: string; preset: string; seed: number; initFrom?: string; set: Record<string, unknown> }) => {
      const slice = { preset: options.preset, seed: options.seed, train: options.set, ...(options.initFrom ? { initFrom: options.initFrom } : {}) };
      const config = parseConfigWith(modelStageConfigSchema, slice, "saec model train");
      const game = GPT_PRESETS[config.preset].game;
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
        onEval: (e) => reporter.emit({ type: "log", stage, message: `step ${e.step}: ${formatEvaluation(e, game)}` }),
      });
      reporter.emit({ type: "stage-end", stage, key: path.basename(options.out), seconds: (Date.now() - started) / 1000, metrics: {} });
      process.stdout.write(`${path.join(options.out, TRAIN_MODEL_DIR)}: ${result.steps} steps in ${(result.seconds / 60).toFixed(1)} min, ${formatEvaluation(result.evaluation, game)}\n`);
    });

  group
    .command("import")
    .description("import foreign weights (a .safetensors state dict) into a checkpoint directory (spec model.md §5.3)")
    .argument("<file>", "weights as .safetensors (convert a .pt with safetensors.torch.save_file)")
    .requiredOption("--from <scheme>", `source layout: ${IMPORT_SCHEMES.join(" | ")}`)
    .requiredOption("--out <dir>", "checkpoint directory to create")
    .option("--config <json>", "the source's config as a JSON file: nanoGPT model_args, HF config.json, TransformerLens cfg (default: model_args.json / config.json next to the file)")
    .option("--n-heads <n>", "minGPT: number of heads (8 for Li et al.'s Othello-GPT)", integerOption("--n-heads"))
    .option("--game <game>", "othello | chess (default: from the vocabulary size, 61 or 32)")
    .option("--name <name>", "model_name to record")
    .action(async (file: string, options: { from: string; out: string; config?: string; nHeads?: number; game?: "othello" | "chess"; name?: string }) => {
      if (!(IMPORT_SCHEMES as readonly string[]).includes(options.from)) throw new Error(`--from: expected one of ${IMPORT_SCHEMES.join(", ")}, found "${options.from}"`);
      if (existsSync(options.out)) throw new Error(`${options.out} already exists; choose a new --out directory`);
      const scheme = options.from as ImportScheme;
      const foreign = options.config ? JSON.parse(await readFile(options.config, "utf8")) as Record<string, unknown> : undefined;
      const { tf } = await initTfjs();
      const { model, sha256 } = await importCheckpoint(tf, scheme, file, {
        ...(foreign ? { modelArgs: foreign, hfConfig: foreign, tlConfig: foreign } : {}),
        ...(options.nHeads !== undefined ? { nHeads: options.nHeads } : {}),
        ...(options.game ? { game: options.game, tokenizer: options.game === "othello" ? "othello-61" : "chess-32" } : {}),
        ...(options.name ? { modelName: options.name } : {}),
      });
      await saveGpt(model, options.out);
      disposeGpt(model);
      process.stdout.write(`${options.out}: ${model.config.model_name} from ${file} (${scheme}, sha256 ${sha256.slice(0, 12)}…), ${parameterCount(model.config).toLocaleString("en-US")} parameters\n`);
    });

  group
    .command("export")
    .description("write a checkpoint's weights in a foreign layout (.safetensors + its config JSON), the inverse of import")
    .argument("<checkpoint>", "checkpoint directory")
    .requiredOption("--to <scheme>", `target layout: ${IMPORT_SCHEMES.join(" | ")}`)
    .requiredOption("--out <file>", "weights file to write (.safetensors); the config goes next to it as <out>.config.json")
    .action(async (checkpoint: string, options: { to: string; out: string }) => {
      if (!(IMPORT_SCHEMES as readonly string[]).includes(options.to)) throw new Error(`--to: expected one of ${IMPORT_SCHEMES.join(", ")}, found "${options.to}"`);
      const { tf } = await initTfjs();
      const model = await loadGpt(tf, checkpoint);
      try {
        const { tensors, foreignConfig } = exportState(options.to as ImportScheme, gptStateDict(model), model.config);
        await writeSafetensors(options.out, tensors, { format: "pt" });
        await writeJsonAtomic(`${options.out.replace(/\.safetensors$/, "")}.config.json`, foreignConfig);
        process.stdout.write(`${options.out}: ${tensors.size} tensors in the ${options.to} layout\n`);
      } finally {
        disposeGpt(model);
      }
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
        process.stdout.write(options.json ? JSON.stringify(evaluation, null, 2) + "\n" : `${checkpoint} on ${options.split}: ${formatEvaluation(evaluation, model.config.game)}\n`);
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
        // Position axes: [B, T, …] everywhere except the attention maps, [B, H, T, T].
        for (const hook of hooks) {
          const positionAxes = /hook_(pattern|attn_scores)$/.test(hook.name) ? [2, 3] : [1];
          for (const axis of positionAxes) hook.shape[axis] = "T";
        }
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

  group
    .command("sample")
    .description("continue a game with a checkpoint: Othello move by move, each judged legal or not by the engine; chess character by character")
    .argument("<checkpoint>", "checkpoint directory (config.json + model.safetensors)")
    .option("--prompt <text>", 'Othello: square names in play order (default "f5"); chess: movetext starting ";1." (default ";1.")')
    .option("--moves <n>", "Othello: most moves to generate (default: until an illegal move, the game's end or n_ctx)", integerOption("--moves"))
    .option("--chars <n>", "chess: most characters to generate (default: until n_ctx + 1 characters in all)", integerOption("--chars"))
    .option("--temperature <t>", "0 = greedy (argmax); otherwise sample from softmax(logits / t)", (value: string) => {
      const temperature = Number(value);
      if (value.trim() === "" || !Number.isFinite(temperature) || temperature < 0) throw new RangeError(`--temperature: expected a number ≥ 0, found "${value}"`);
      return temperature;
    }, 0)
    .option("--seed <n>", "sampling seed", integerOption("--seed"), 0)
    .option("--json", "print the sample as JSON")
    .action(async (checkpoint: string, options: { prompt?: string; moves?: number; chars?: number; temperature: number; seed: number; json?: boolean }) => {
      const { tf } = await initTfjs();
      const model = await loadGpt(tf, checkpoint);
      try {
        const how = options.temperature === 0 ? "greedy" : `temperature ${options.temperature}, seed ${options.seed}`;
        const sampling = { temperature: options.temperature, seed: options.seed };
        if (model.config.game === "othello") {
          const sample = sampleOthello(model, parseOthelloMoves(options.prompt ?? "f5"), { ...sampling, maxTokens: options.moves });
          if (options.json) {
            process.stdout.write(JSON.stringify({ ...sample, board: undefined, result: sample.board.result() }, null, 2) + "\n");
            return;
          }
          const moves = sample.moves.map((move) => (move.square === null ? "pad" : squareName(move.square)) + (move.legal ? "" : " (illegal)"));
          const cells = (row: number) => Array.from({ length: 8 }, (_, col) => ".XO"[[0, 1, -1].indexOf(sample.board.at(row * 8 + col))]);
          const lines = [
            `${checkpoint}: ${model.config.model_name}, ${how}`,
            `prompt:    ${sample.prompt.map(squareName).join(" ")}`,
            `generated: ${moves.join(" ") || "(nothing)"}`,
            `stopped:   ${sample.stop}; ${sample.moves.filter((move) => move.legal).length} legal moves generated`,
            "  1 2 3 4 5 6 7 8",
            ...Array.from({ length: 8 }, (_, row) => `${"abcdefgh"[row]} ${cells(row).join(" ")}`),
            sample.board.gameOver ? `game over: ${sample.board.result()}` : `X black, O white; ${sample.board.sideToMove === 1 ? "black" : "white"} to move`,
          ];
          process.stdout.write(lines.join("\n") + "\n");
        } else {
          const sample = sampleChess(model, options.prompt ?? ";1.", { ...sampling, maxTokens: options.chars });
          if (options.json) {
            process.stdout.write(JSON.stringify(sample, null, 2) + "\n");
            return;
          }
          const lines = [
            `${checkpoint}: ${model.config.model_name}, ${how}`,
            sample.text,
            `stopped: ${sample.stop}; ${sample.legalPlies} complete words replay as legal moves` +
              (sample.illegalWord === null ? "" : `, then ${JSON.stringify(sample.illegalWord)} is not legal`),
            chessSampleGame(sample).ascii(),
          ];
          process.stdout.write(lines.join("\n") + "\n");
        }
      } finally {
        disposeGpt(model);
      }
    });
}
