// `saec sae train|eval|info|import`: the sae stage's work outside a pipeline (a sweep from a sweep config over an
// activation cache, resumable by rerunning), metrics of a saved SAE (spec sae.md §3), a look inside SAE and sweep
// directories, and dictionary_learning SAEs imported as SAELens directories (spec §4).

import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { readDatasetDirectory } from "../../boards/dataset-directory.js";
import { SPLITS, type Split } from "../../boards/splits.js";
import { kernels as selectedKernels } from "../../compute/select.js";
import { initTfjs } from "../../compute/tfjs.js";
import { readCacheManifest } from "../../data/cache-manifest.js";
import { CacheLoader } from "../../data/loader.js";
import { loadGpt } from "../../model/checkpoint.js";
import { disposeGpt, type Gpt } from "../../model/gpt.js";
import { importDictionaryLearning } from "../../sae/dictionary-learning.js";
import {
  readSaeDirectory, SAE_CFG_FILE, SAE_METRICS_FILE, SAE_TRAINING_FILE, writeSaeDirectory, writeSparsity, type SaeDirectory,
} from "../../sae/files.js";
import { readRows } from "../../sae/metrics.js";
import { createSae, paramShapes } from "../../sae/params.js";
import { evaluateSae, type EvalSet, type SaeMetricsRecord } from "../../sae/sweep-results.js";
import { writeJsonAtomic } from "../../io/atomic-write.js";
import { parseConfigWith, readConfigFile } from "../config.js";
import { progressReporter } from "../progress.js";
import { runSaeTrainJob, saeStageConfigSchema } from "../stages/sae.js";
import { integerOption } from "./options.js";

/** --model and --games come together (loss recovered needs both). */
function modelAndGames(options: { model?: string; games?: string }): { model: string; games: string } | null {
  if ((options.model === undefined) !== (options.games === undefined)) throw new Error("--model and --games go together: loss recovered runs the model on the games");
  return options.model === undefined ? null : { model: options.model, games: options.games! };
}

const fixed = (value: number | undefined, digits: number) => (value === undefined ? "–" : Number.isFinite(value) ? value.toFixed(digits) : String(value));

/** The numbers of a metrics.json on a few lines. */
function formatMetrics(metrics: SaeMetricsRecord): string {
  const lines = [
    `evaluated on ${metrics.eval.tokens} rows: ${metrics.eval.source}${metrics.eval.heldOut === false ? " (not held out)" : ""}`,
    `L0 ${fixed(metrics.l0, 2)}  L1 ${fixed(metrics.l1, 3)}  MSE ${fixed(metrics.mse, 5)}  L2 ${fixed(metrics.l2_loss, 4)}  FVE ${fixed(metrics.fve, 4)}  FVE/token ${fixed(metrics.fve_per_token, 4)}`,
    `alive ${metrics.alive} (${fixed(100 * metrics.frac_alive, 1)}%), dead ${fixed(100 * metrics.frac_dead, 1)}%${metrics.dead_training === undefined ? "" : `, dead in training ${metrics.dead_training}`}  cossim ${fixed(metrics.cossim, 4)}  l2 ratio ${fixed(metrics.l2_ratio, 4)}  relative bias ${fixed(metrics.relative_reconstruction_bias, 4)}`,
  ];
  if (metrics.loss_recovered !== undefined) {
    lines.push(
      `CE clean ${fixed(metrics.ce_clean, 4)}  SAE ${fixed(metrics.ce_sae, 4)}  zero ${fixed(metrics.ce_zero, 4)}  loss recovered ${fixed(metrics.loss_recovered, 4)}  ` +
        `KL SAE ${fixed(metrics.kl_sae, 4)}  zero ${fixed(metrics.kl_zero, 4)}  KL score ${fixed(metrics.kl_score, 4)} (${metrics.eval.games} games, ${metrics.eval.positions} positions)`,
    );
  }
  return lines.join("\n");
}

async function readJsonIfPresent(file: string): Promise<Record<string, unknown> | null> {
  return readFile(file, "utf8").then((text) => JSON.parse(text) as Record<string, unknown>, () => null);
}

/** The sparsity setting of a trainer config in training.json: λ, α or k. */
function coefficient(trainer: Record<string, unknown> | undefined): string {
  if (trainer === undefined) return "";
  for (const [key, symbol] of [["lambda", "λ"], ["alpha", "α"], ["k", "k"]] as const) if (typeof trainer[key] === "number") return `${symbol}=${trainer[key]}`;
  return "";
}

async function describeSae(dir: string): Promise<{ text: string; json: unknown }> {
  const sae: SaeDirectory = await readSaeDirectory(dir);
  const metrics = (await readJsonIfPresent(path.join(dir, SAE_METRICS_FILE))) as SaeMetricsRecord | null;
  const training = await readJsonIfPresent(path.join(dir, SAE_TRAINING_FILE));
  const { spec, site } = sae;
  const extra = [spec.k === undefined ? "" : `, k ${spec.k}`, spec.topkThreshold === undefined ? "" : `, θ ${spec.topkThreshold}`].join("");
  const lines = [
    `${dir}: ${spec.architecture} SAE (trainer ${sae.trainer}${coefficient(training?.trainer as Record<string, unknown> | undefined) ? `, ${coefficient(training?.trainer as Record<string, unknown>)}` : ""}), d_in ${spec.dIn} → d_sae ${spec.dSae}${extra}, apply_b_dec_to_input ${spec.applyBDecToInput}`,
    `site: ${site.hookName} of ${site.modelName || "?"}, context ${site.contextSize}, dataset ${site.datasetPath || "?"}`,
    `tensors: ${paramShapes(spec.architecture, spec).map(([name, shape]) => `${name} [${shape.join(", ")}]`).join(", ")}`,
    metrics === null ? "no metrics.json (run saec sae eval)" : formatMetrics(metrics),
  ];
  return { text: lines.join("\n"), json: { cfg: sae.cfg, metrics, training: training?.trainer ?? null } };
}

async function describeSweep(dir: string, trainerDirs: string[]): Promise<{ text: string; json: unknown }> {
  const rows: string[][] = [["dir", "trainer", "setting", "d_sae", "L0", "FVE", "MSE", "dead %", "loss rec.", "KL score"]];
  const json: unknown[] = [];
  for (const name of trainerDirs) {
    const sub = path.join(dir, name);
    const cfg = await readJsonIfPresent(path.join(sub, SAE_CFG_FILE));
    const training = await readJsonIfPresent(path.join(sub, SAE_TRAINING_FILE));
    const metrics = (await readJsonIfPresent(path.join(sub, SAE_METRICS_FILE))) as SaeMetricsRecord | null;
    const trainer = training?.trainer as Record<string, unknown> | undefined;
    json.push({ dir: name, trainer: trainer ?? null, metrics });
    rows.push([
      name, String(trainer?.trainer ?? "?"), coefficient(trainer), String(trainer?.dSae ?? cfg?.d_sae ?? "?"),
      fixed(metrics?.l0, 1), fixed(metrics?.fve, 4), fixed(metrics?.mse, 5), metrics ? fixed(100 * metrics.frac_dead, 1) : "–",
      fixed(metrics?.loss_recovered, 4), fixed(metrics?.kl_score, 4),
    ]);
    if (cfg === null) rows[rows.length - 1][0] += " (training)";
  }
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const text = rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join("  ").trimEnd()).join("\n");
  return { text: `${dir}: ${trainerDirs.length} SAE(s)\n${text}`, json };
}

interface TrainOptions {
  config: string;
  activations: string;
  out: string;
  hook?: string;
  model?: string;
  games?: string;
  seed?: number;
  bufferContexts?: number;
  evalGames?: number;
  evalSplit?: string;
}

interface EvalOptions {
  activations: string;
  model?: string;
  games?: string;
  split: string;
  count: number;
  tokens?: number;
  seed: number;
  batchSize: number;
  json?: boolean;
  write: boolean;
}

export function addSaeCommands(group: Command): void {
  group
    .command("train")
    .description("train a sweep of SAEs in lock-step on an activation cache (spec sae.md §1.5); rerun the same command to resume")
    .requiredOption("--config <file>", "sweep config (.json or .yaml): steps, batchSize, trainers[], and optionally hook, seed, bufferContexts, eval")
    .requiredOption("--activations <cache>", "activation cache directory")
    .requiredOption("--out <dir>", "output directory: trainer_<i>/ SAELens directories, checkpoint.json, summary.json")
    .option("--hook <name>", "hook to train on (default: the cache's only hook)")
    .option("--model <checkpoint>", "with --games: evaluate on held-out games through this model, with loss recovered")
    .option("--games <dataset>", "with --model: game dataset directory for the held-out evaluation")
    .option("--seed <n>", "order in which activations are drawn", integerOption("--seed"))
    .option("--buffer-contexts <n>", "shuffle buffer in contexts (rows = n × n_ctx)", integerOption("--buffer-contexts"))
    .option("--eval-games <n>", "held-out games to evaluate on (default 256)", integerOption("--eval-games"))
    .option("--eval-split <split>", "split the held-out games come from (default val)")
    .action(async (options: TrainOptions) => {
      const pair = modelAndGames(options);
      const raw = (await readConfigFile(options.config)) as Record<string, unknown>;
      const rawEval = (raw?.eval ?? {}) as Record<string, unknown>;
      const config = parseConfigWith(
        saeStageConfigSchema,
        {
          ...raw,
          ...(options.hook === undefined ? {} : { hook: options.hook }),
          ...(options.seed === undefined ? {} : { seed: options.seed }),
          ...(options.bufferContexts === undefined ? {} : { bufferContexts: options.bufferContexts }),
          eval: { ...rawEval, ...(options.evalGames === undefined ? {} : { games: options.evalGames }), ...(options.evalSplit === undefined ? {} : { split: options.evalSplit }) },
        },
        options.config,
      );
      const reporter = progressReporter();
      const stage = "sae train";
      const abort = new AbortController();
      const onSignal = () => abort.abort(new Error("interrupted; rerun the same command to resume"));
      process.once("SIGINT", onSignal);
      const started = Date.now();
      reporter.emit({ type: "stage-start", stage, key: path.basename(options.out), resumed: existsSync(path.join(options.out, "checkpoint.json")) });
      try {
        const result = await runSaeTrainJob(
          { config, cache: options.activations, out: options.out, ...(pair ?? {}) },
          {
            signal: abort.signal,
            log: (message) => reporter.emit({ type: "log", stage, message }),
            progress: (done, total, unit) => reporter.emit({ type: "progress", stage, done, total, unit }),
          },
        );
        reporter.emit({ type: "stage-end", stage, key: path.basename(options.out), seconds: (Date.now() - started) / 1000, metrics: {} });
        process.stdout.write(`${options.out}: ${result.rows.length} SAE(s) on ${result.hook}, ${result.steps} steps${result.resumedFrom === null ? "" : ` (resumed from step ${result.resumedFrom})`}\n`);
        process.stdout.write((await describeSweep(options.out, result.rows.map((row) => row.dir))).text + "\n");
      } finally {
        process.off("SIGINT", onSignal);
      }
    });

  group
    .command("eval")
    .description("spec sae.md §3 metrics of a saved SAE on cached activations, and loss recovered / KL with --model and --games; writes metrics.json and sparsity.safetensors")
    .argument("<sae>", "SAE directory (cfg.json + sae_weights.safetensors)")
    .requiredOption("--activations <cache>", "activation cache holding the SAE's hook")
    .option("--model <checkpoint>", "with --games: splice the SAE into this model for loss recovered and KL")
    .option("--games <dataset>", "with --model: game dataset directory")
    .option("--split <split>", "split of --games", "val")
    .option("--count <n>", "games for loss recovered (the first of the split)", integerOption("--count"), 256)
    .option("--tokens <n>", "activation rows to evaluate on (default count × n_ctx)", integerOption("--tokens"))
    .option("--seed <n>", "which cache rows are drawn", integerOption("--seed"), 42)
    .option("--batch-size <n>", "games per model run", integerOption("--batch-size"), 32)
    .option("--json", "print metrics.json instead of a summary")
    .option("--no-write", "only print: leave metrics.json and sparsity.safetensors as they are")
    .action(async (dir: string, options: EvalOptions) => {
      const pair = modelAndGames(options);
      if (!(SPLITS as readonly string[]).includes(options.split)) throw new Error(`--split: expected one of ${SPLITS.join(", ")}, found "${options.split}"`);
      const saved = await readSaeDirectory(dir);
      const hook = saved.site.hookName;
      const manifest = await readCacheManifest(options.activations);
      const wanted = Math.min(options.tokens ?? options.count * manifest.model.n_ctx, manifest.rows);
      const loader = await CacheLoader.open({ dir: options.activations, hook, batchSize: 4096, bufferRows: Math.max(1, wanted), seed: options.seed, epochs: 1, expectD: saved.spec.dIn, worker: false });
      let evalSet: EvalSet;
      try {
        const { rows, tokens } = await readRows(loader, wanted);
        evalSet = { rows, tokens, source: `${tokens} rows of ${options.activations} (${manifest.dataset.split} split of ${manifest.dataset.id})`, heldOut: manifest.dataset.split !== "train" };
      } finally {
        await loader.close();
      }
      let model: Gpt | null = null;
      try {
        if (pair !== null) {
          model = await loadGpt((await initTfjs()).tf, pair.model);
          const games = (await readDatasetDirectory(pair.games, [options.split as Split], { checkOthelloMoves: false })).slice(0, options.count);
          evalSet.splice = { model, games, batchSize: options.batchSize };
        }
        const sae = createSae((await selectedKernels()).kernels, saved.spec, saved.params);
        const { metrics, logDensity } = evaluateSae(sae, hook, evalSet);
        if (options.write) {
          await writeJsonAtomic(path.join(dir, SAE_METRICS_FILE), metrics);
          await writeSparsity(dir, saved.spec.dSae, logDensity);
        }
        process.stdout.write(options.json ? JSON.stringify(metrics, null, 2) + "\n" : `${dir}: ${saved.spec.architecture} SAE at ${hook}\n${formatMetrics(metrics)}\n`);
      } finally {
        if (model !== null) disposeGpt(model);
      }
    });

  group
    .command("info")
    .description("an SAE directory's architecture, site, tensors and metrics; for a sweep directory, a table of its SAEs")
    .argument("<dir>", "SAE directory, or a sweep directory holding trainer_<i>/")
    .option("--json", "print as JSON")
    .action(async (dir: string, options: { json?: boolean }) => {
      let described: { text: string; json: unknown };
      if (existsSync(path.join(dir, SAE_CFG_FILE))) {
        described = await describeSae(dir);
      } else {
        const trainerDirs = (await readdir(dir).catch(() => [] as string[]))
          .filter((name) => /^trainer_\d+$/.test(name))
          .sort((a, b) => Number(a.slice(8)) - Number(b.slice(8)));
        if (trainerDirs.length === 0) throw new Error(`${dir}: neither an SAE directory (no ${SAE_CFG_FILE}) nor a sweep directory (no trainer_<i>/)`);
        described = await describeSweep(dir, trainerDirs);
      }
      process.stdout.write((options.json ? JSON.stringify(described.json, null, 2) : described.text) + "\n");
    });

  group
    .command("import")
    .description("import a dictionary_learning SAE (ae.pt state dict saved as .safetensors, plus its config.json) as a SAELens directory")
    .argument("<weights>", "state dict as .safetensors (safetensors.torch.save_file(torch.load('ae.pt'), ...))")
    .requiredOption("--config <file>", "the run's config.json (trainer.dict_class, activation_dim, dict_size, layer, lm_name; buffer.ctx_len)")
    .requiredOption("--out <dir>", "SAE directory to create")
    .option("--hook <name>", "hook name (default blocks.<layer>.hook_resid_post)")
    .option("--model-name <name>", "model name to record (default trainer.lm_name)")
    .option("--dataset <id>", "dataset id to record")
    .action(async (weights: string, options: { config: string; out: string; hook?: string; modelName?: string; dataset?: string }) => {
      if (existsSync(path.join(options.out, SAE_CFG_FILE))) throw new Error(`${options.out} already holds an SAE; choose a new --out directory`);
      const imported = await importDictionaryLearning(weights, options.config, {
        ...(options.hook === undefined ? {} : { hookName: options.hook }),
        ...(options.modelName === undefined ? {} : { modelName: options.modelName }),
        ...(options.dataset === undefined ? {} : { datasetPath: options.dataset }),
      });
      const foreign = JSON.parse(await readFile(options.config, "utf8")) as unknown;
      await writeSaeDirectory(options.out, imported, {
        training: { imported: { from: "dictionary_learning", weights: path.resolve(weights), dictClass: imported.dictClass, foldedDecoderNorms: imported.foldedDecoderNorms, config: foreign } },
      });
      const { spec } = imported;
      process.stdout.write(`${options.out}: ${imported.dictClass} → ${spec.architecture} (trainer ${imported.trainer}), d_in ${spec.dIn} → d_sae ${spec.dSae} at ${imported.site.hookName}${imported.foldedDecoderNorms ? ", decoder norms folded into the encoder" : ""}\n`);
    });
}
