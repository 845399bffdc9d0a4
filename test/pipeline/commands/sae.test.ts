// `saec sae …`: train a mixed sweep (YAML config) on a cache with held-out evaluation and loss recovered; an
// interrupted run resumed by rerunning equals an uninterrupted one; eval writes metrics.json; info describes SAE and
// sweep directories; import turns a dictionary_learning export into a SAELens directory; bad input is refused.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readDatasetDirectory, writeDatasetDirectory } from "../../../boards/dataset-directory.js";
import { gameSourceConfigSchema, generateGames } from "../../../boards/game-sources.js";
import { initTfjs } from "../../../compute/tfjs.js";
import { readCacheManifest } from "../../../data/cache-manifest.js";
import { loadGpt, saveGpt } from "../../../model/checkpoint.js";
import { evaluateModel } from "../../../model/evaluate.js";
import { createGpt, disposeGpt } from "../../../model/gpt.js";
import { writeSafetensors } from "../../../model/safetensors.js";
import { addActivationsCommands } from "../../../pipeline/commands/activations.js";
import { addSaeCommands } from "../../../pipeline/commands/sae.js";
import { parseConfigWith } from "../../../pipeline/config.js";
import { runSaeTrainJob, saeStageConfigSchema } from "../../../pipeline/stages/sae.js";
import { readSaeDirectory, SAE_CFG_FILE, SAE_METRICS_FILE, SAE_SPARSITY_FILE, SAE_WEIGHTS_FILE } from "../../../sae/files.js";
import { tinyTrainConfig } from "../../model/train-fixtures.js";
import { runCommand } from "./run-command.js";

let root: string;
let games: string;
let checkpoint: string;
let cache: string;
let sweepFile: string;

const sweep = {
  steps: 10, batchSize: 32, logSteps: 3, checkpointSteps: 4, dIn: 16,
  trainers: [
    { trainer: "standard", dSae: 32, lambda: 0.05, lr: 1e-2 },
    { trainer: "p_anneal", dSae: 32, alpha: 0.05, lr: 1e-2 },
    { trainer: "topk", dSae: 32, k: 4 },
    { trainer: "jumprelu", dSae: 32, lambda: 1e-3, lr: 1e-2 },
  ],
  eval: { games: 6, batchSize: 4 },
};
const yaml = (value: typeof sweep) =>
  [
    `steps: ${value.steps}`, `batchSize: ${value.batchSize}`, `logSteps: ${value.logSteps}`, `checkpointSteps: ${value.checkpointSteps}`, `dIn: ${value.dIn}`,
    "trainers:", ...value.trainers.map((trainer) => `  - ${JSON.stringify(trainer)}`), `eval: ${JSON.stringify(value.eval)}`,
  ].join("\n") + "\n";

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "saec-sae-cmd-"));
  games = path.join(root, "games");
  const source = gameSourceConfigSchema.parse({ game: "othello", source: "random", count: 60, seed: 6, splits: { train: 0.5, val: 0.4 } });
  await writeDatasetDirectory(games, "othello", (await generateGames(source, { workers: 1 })).rows, source);
  checkpoint = path.join(root, "model");
  const { tf } = await initTfjs();
  const model = createGpt(tf, tinyTrainConfig(2));
  await saveGpt(model, checkpoint);
  disposeGpt(model);
  cache = path.join(root, "cache");
  await runCommand("activations", addActivationsCommands, ["cache", "--model", checkpoint, "--games", games, "--out", cache, "--shard-rows", "300", "--max-games", "20"]);
  sweepFile = path.join(root, "sweep.yaml");
  await writeFile(sweepFile, yaml(sweep));
});
afterAll(() => rm(root, { recursive: true, force: true }));

const sae = async (...args: string[]) => (await runCommand("sae", addSaeCommands, args)).stdout;
const trainArgs = (out: string) => ["train", "--config", sweepFile, "--activations", cache, "--out", out, "--model", checkpoint, "--games", games];

describe("saec sae", () => {
  it("trains a sweep into SAELens directories with held-out metrics and loss recovered; a rerun resumes and changes nothing", async () => {
    const out = path.join(root, "sweep");
    const printed = await sae(...trainArgs(out));
    expect(printed).toMatch(new RegExp(`^${out}: 4 SAE\\(s\\) on blocks\\.0\\.hook_resid_post, 10 steps\\n`));
    expect(printed).toMatch(/trainer_1\s+p_anneal\s+α=0.05\s+32\s/);
    for (let i = 0; i < 4; i++) {
      const dir = path.join(out, `trainer_${i}`);
      const saved = await readSaeDirectory(dir);
      const { dataset, model } = await readCacheManifest(cache);
      expect(saved.site).toEqual({ modelName: "tiny-othello", hookName: "blocks.0.hook_resid_post", contextSize: 59, datasetPath: dataset.id, modelSha256: model.sha256 });
      expect(saved.logDensity).toHaveLength(32);
      const metrics = JSON.parse(await readFile(path.join(dir, SAE_METRICS_FILE), "utf8"));
      expect(metrics.eval).toMatchObject({ heldOut: true, games: 6 });
      for (const name of ["l0", "fve", "fve_per_token", "mse", "cossim", "ce_clean", "ce_sae", "ce_zero", "loss_recovered", "kl_sae", "kl_score"]) expect(Number.isFinite(metrics[name]), name).toBe(true);
      if (i === 2) expect(metrics.l0).toBeLessThanOrEqual(4); // TopK keeps k (a kept ReLU zero is not counted)
    }
    // The clean CE is the model's loss on the 6 held-out games.
    const { tf } = await initTfjs();
    const model = await loadGpt(tf, checkpoint);
    const val = (await readDatasetDirectory(games, ["val"], { checkOthelloMoves: false })).slice(0, 6);
    const metrics = JSON.parse(await readFile(path.join(out, "trainer_0", SAE_METRICS_FILE), "utf8"));
    expect(metrics.ce_clean).toBeCloseTo(evaluateModel(model, val).loss, 5);
    disposeGpt(model);

    const weights = await readFile(path.join(out, "trainer_3", SAE_WEIGHTS_FILE));
    expect(await sae(...trainArgs(out))).toContain("10 steps (resumed from step 10)");
    expect(await readFile(path.join(out, "trainer_3", SAE_WEIGHTS_FILE))).toEqual(weights);

    // An interrupted run, resumed by rerunning the command, ends where the uninterrupted one did.
    const interrupted = path.join(root, "interrupted");
    const abort = new AbortController();
    const config = parseConfigWith(saeStageConfigSchema, sweep, "sweep");
    await expect(runSaeTrainJob({ config, cache, out: interrupted }, { signal: abort.signal, progress: (done) => done === 6 && abort.abort() })).rejects.toThrow(/interrupted after 6 of 10 steps/);
    expect(await sae(...trainArgs(interrupted))).toContain("(resumed from step 6)");
    for (let i = 0; i < 4; i++) {
      for (const file of [SAE_WEIGHTS_FILE, SAE_SPARSITY_FILE, SAE_METRICS_FILE, "log.jsonl"]) {
        expect(await readFile(path.join(interrupted, `trainer_${i}`, file)), `trainer_${i}/${file}`).toEqual(await readFile(path.join(out, `trainer_${i}`, file)));
      }
    }

    const table = await sae("info", out);
    expect(table.split("\n")[1]).toMatch(/^dir\s+trainer\s+setting\s+d_sae\s+L0\s+FVE\s+MSE\s+dead %\s+loss rec\.\s+KL score$/);
    expect(table).toMatch(/trainer_2\s+topk\s+k=4\s+32\s+[34]\.\d\s/);
    const one = await sae("info", path.join(out, "trainer_3"));
    expect(one).toContain("jumprelu SAE (trainer jumprelu, λ=0.001), d_in 16 → d_sae 32, apply_b_dec_to_input false");
    expect(one).toContain("tensors: W_enc [16, 32], b_enc [32], W_dec [32, 16], b_dec [16], threshold [32]");
    expect(one).toMatch(/loss recovered -?\d\.\d{4}/);
    expect(JSON.parse(await sae("info", out, "--json"))).toHaveLength(4);
  });

  it("eval prints and writes the metrics of a saved SAE on cache rows, with loss recovered from --model and --games", async () => {
    const out = path.join(root, "eval-sweep");
    const config = parseConfigWith(saeStageConfigSchema, { ...sweep, trainers: sweep.trainers.slice(0, 1) }, "sweep");
    await runSaeTrainJob({ config, cache, out });
    const dir = path.join(out, "trainer_0");
    const trained = JSON.parse(await readFile(path.join(dir, SAE_METRICS_FILE), "utf8"));
    expect(trained.eval.heldOut).toBe(false); // no model: rows of the training cache
    expect(trained).not.toHaveProperty("loss_recovered");

    const rows = (await readCacheManifest(cache)).rows;
    const printed = await sae("eval", dir, "--activations", cache, "--tokens", String(rows), "--model", checkpoint, "--games", games, "--count", "5", "--batch-size", "2");
    expect(printed).toContain(`${dir}: standard SAE at blocks.0.hook_resid_post`);
    expect(printed).toMatch(/loss recovered -?\d\.\d{4}.*\(5 games, \d+ positions\)/);
    const metrics = JSON.parse(await readFile(path.join(dir, SAE_METRICS_FILE), "utf8"));
    expect(metrics.eval).toMatchObject({ tokens: rows, heldOut: false, games: 5 });
    // Every cached row, in another order: the same sums as the training-time evaluation over the whole cache.
    const all = await runCommand("sae", addSaeCommands, ["eval", dir, "--activations", cache, "--tokens", String(rows), "--seed", "7", "--json", "--no-write"]);
    const reordered = JSON.parse(all.stdout);
    for (const name of ["l0", "mse", "fve", "cossim"]) expect(reordered[name]).toBeCloseTo(metrics[name], 6);
    expect(reordered).not.toHaveProperty("loss_recovered");
    expect(JSON.parse(await readFile(path.join(dir, SAE_METRICS_FILE), "utf8"))).toEqual(metrics); // --no-write
  });

  it("imports a dictionary_learning AutoEncoder as a SAELens directory", async () => {
    const weights = path.join(root, "ae.safetensors");
    const configFile = path.join(root, "config.json");
    const [dIn, dSae] = [4, 6];
    await writeSafetensors(weights, {
      "encoder.weight": { dtype: "F32", shape: [dSae, dIn], data: Float32Array.from({ length: dSae * dIn }, (_, i) => ((i * 7) % 5) - 2) },
      "encoder.bias": { dtype: "F32", shape: [dSae], data: new Float32Array(dSae).fill(0.1) },
      "decoder.weight": { dtype: "F32", shape: [dIn, dSae], data: Float32Array.from({ length: dIn * dSae }, (_, i) => ((i * 3) % 4) + 1) },
      bias: { dtype: "F32", shape: [dIn], data: new Float32Array(dIn) },
    });
    await writeFile(configFile, JSON.stringify({ trainer: { dict_class: "AutoEncoder", trainer_class: "StandardTrainer", activation_dim: dIn, dict_size: dSae, layer: 2, lm_name: "othello" }, buffer: { ctx_len: 59 } }));
    const out = path.join(root, "imported");
    expect(await sae("import", weights, "--config", configFile, "--out", out, "--dataset", "ds:train")).toBe(
      `${out}: AutoEncoder → standard (trainer standard), d_in 4 → d_sae 6 at blocks.2.hook_resid_post, decoder norms folded into the encoder\n`,
    );
    expect(JSON.parse(await readFile(path.join(out, SAE_CFG_FILE), "utf8")).metadata).toMatchObject({ hook_name: "blocks.2.hook_resid_post", model_name: "othello", dataset_path: "ds:train" });
    expect(JSON.parse(await readFile(path.join(out, "training.json"), "utf8")).imported).toMatchObject({ from: "dictionary_learning", dictClass: "AutoEncoder", foldedDecoderNorms: true });
    expect(await sae("info", out)).toContain("no metrics.json (run saec sae eval)");
    await expect(sae("import", weights, "--config", configFile, "--out", out)).rejects.toThrow(/already holds an SAE/);
  });

  it("refuses bad input: an unpaired --model, a config with problems, a cache of another width", async () => {
    await expect(sae("train", "--config", sweepFile, "--activations", cache, "--out", path.join(root, "x"), "--model", checkpoint)).rejects.toThrow(/--model and --games go together/);
    const bad = path.join(root, "bad.json");
    await writeFile(bad, JSON.stringify({ steps: 0, trainers: [{ trainer: "standard" }], colour: "red" }));
    await expect(sae("train", "--config", bad, "--activations", cache, "--out", path.join(root, "x"))).rejects.toThrow(/invalid config .*bad\.json:\n(.|\n)*steps(.|\n)*trainers\.0\.dSae(.|\n)*unknown field\(s\) "colour"/);
    const wide = path.join(root, "wide.yaml");
    await writeFile(wide, yaml({ ...sweep, dIn: 12 }));
    await expect(sae("train", "--config", wide, "--activations", cache, "--out", path.join(root, "wide"))).rejects.toThrow(/hook "blocks\.0\.hook_resid_post" has rows of width d = 16, the consumer expects d = 12/);
    await expect(sae("train", "--config", sweepFile, "--activations", cache, "--out", path.join(root, "x"), "--hook", "blocks.0.hook_mlp_out")).rejects.toThrow(/no hook "blocks\.0\.hook_mlp_out" in the cache; it holds blocks\.0\.hook_resid_post/);
    await expect(sae("info", root)).rejects.toThrow(/neither an SAE directory/);
  });
});
