// `saec eval board`: board-state metrics (spec board-metrics.md) of saved SAEs and of the MLP-neuron baseline, on
// held-out games through the model the SAEs were trained on; the eval stage's work outside a pipeline.

import { existsSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { mlpHookFor } from "../../boards/metrics/dictionary.js";
import { formatComparison, writeComparison } from "../../boards/metrics/results.js";
import { defaultCacheHook } from "../../data/activation-cache.js";
import { packageRoot } from "../../io/package-root.js";
import { loadGptConfig } from "../../model/checkpoint.js";
import { readSaeDirectory } from "../../sae/files.js";
import { integerOption, listOption } from "./options.js";
import { evalStageConfigSchema, runBoardEval, type BoardEvalEntry } from "../stages/eval.js";

interface BoardOptions {
  sae: string[];
  model?: string;
  games: string;
  split: string;
  mlpNeurons?: boolean | string;
  out?: string;
  labelGames?: number;
  reconGames?: number;
  fireGames?: number;
  minDots?: number;
  perspective?: string;
  functions?: string[];
  batchGames?: number;
}

/** The checkpoint an SAE names when --model is left out: models/<model_name> of this package, if it is there. */
async function defaultModel(saeDir: string): Promise<string> {
  const { modelName } = (await readSaeDirectory(saeDir)).site;
  const candidate = path.join(packageRoot(), "models", modelName);
  if (modelName === "" || !existsSync(path.join(candidate, "config.json"))) {
    throw new Error(`${saeDir} was trained on model "${modelName}", which is not a shipped checkpoint (models/): give it with --model`);
  }
  return candidate;
}

export function addEvalCommands(group: Command): void {
  group
    .command("board")
    .description("coverage, board reconstruction and feature labels (spec board-metrics.md) of SAEs and the MLP-neuron baseline")
    .option("--sae <dir>", "an SAE directory (repeatable); results go into it unless --out is given", (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option("--model <checkpoint>", "the model the SAEs were trained on (default models/<the SAE's model_name>)")
    .requiredOption("--games <dataset>", "game dataset directory")
    .option("--split <split>", "split the labelling and reconstruction games come from", "test")
    .option("--mlp-neurons [hook]", "also score the MLP neurons (default: blocks.L.mlp.hook_post of the first SAE's block, or of the default cache hook's)")
    .option("--out <dir>", "write results under <dir>/<name>/ and the comparison table into <dir>")
    .option("--label-games <n>", "labelling games (default 1000)", integerOption("--label-games"))
    .option("--recon-games <n>", "reconstruction games (default 1000)", integerOption("--recon-games"))
    .option("--fire-games <n>", "firing-sample games (default min(label/2, 1000))", integerOption("--fire-games"))
    .option("--min-dots <n>", "chess: skip games with fewer dots in their first 256 characters (default 20)", integerOption("--min-dots"))
    .option("--perspective <p>", "Othello mine/theirs: true-mover (default) or parity (the reference's)")
    .option("--functions <ids>", "comma-separated BSP functions (default all of the game)", listOption("--functions"))
    .option("--batch-games <n>", "games per model run (default 32)", integerOption("--batch-games"))
    .action(async (options: BoardOptions) => {
      if (options.sae.length === 0 && options.mlpNeurons === undefined) throw new Error("eval board: give at least one --sae or --mlp-neurons");
      if (options.mlpNeurons !== undefined && options.out === undefined) throw new Error("eval board: --mlp-neurons needs --out (the neurons have no directory of their own)");
      const config = evalStageConfigSchema.parse({
        split: options.split,
        ...(options.labelGames === undefined ? {} : { labelGames: options.labelGames }),
        ...(options.reconGames === undefined ? {} : { reconGames: options.reconGames }),
        ...(options.fireGames === undefined ? {} : { fireGames: options.fireGames }),
        ...(options.minDots === undefined ? {} : { minDots: options.minDots }),
        ...(options.perspective === undefined ? {} : { perspective: options.perspective }),
        ...(options.functions === undefined ? {} : { functions: options.functions }),
        ...(options.batchGames === undefined ? {} : { batchGames: options.batchGames }),
      });
      const model = options.model ?? (options.sae.length > 0 ? await defaultModel(options.sae[0]) : undefined);
      if (model === undefined) throw new Error("eval board: --mlp-neurons alone needs --model");
      const names = new Set<string>();
      const outFor = (name: string, fallback: string): string => {
        if (options.out === undefined) return fallback;
        let unique = name;
        for (let n = 2; names.has(unique); n++) unique = `${name}-${n}`;
        names.add(unique);
        return path.join(options.out, unique);
      };
      const entries: BoardEvalEntry[] = options.sae.map((sae) => ({ source: { sae }, out: outFor(path.basename(path.resolve(sae)), sae), approach: "sae" }));
      if (options.mlpNeurons !== undefined) {
        // default: the block of the first SAE, or without SAEs the block the activation cache reads by default
        const siteHook = options.sae.length > 0 ? (await readSaeDirectory(options.sae[0])).site.hookName : defaultCacheHook(await loadGptConfig(model));
        const hook = typeof options.mlpNeurons === "string" ? options.mlpNeurons : mlpHookFor(siteHook);
        entries.push({ source: { mlpHook: hook }, out: outFor(`mlp-neurons-${hook}`, ""), approach: "mlp neurons" });
      }
      const rows = await runBoardEval(config, model, options.games, entries, { log: (message) => process.stderr.write(`eval board: ${message}\n`) });
      process.stdout.write(formatComparison(rows) + "\n");
      for (const entry of entries) process.stdout.write(`${entry.out}/board_metrics.json\n`);
      if (options.out !== undefined) await writeComparison(options.out, rows);
    });
}
