// `saec eval board` end to end on a tiny model: the metrics it writes equal a dense computation written here from
// the model's cached activations and the Othello BSPs (positions aligned by hand), the MLP-neuron baseline and the
// result files, and the refusal of an SAE from another model or hook.

import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readDatasetDirectory, writeDatasetDirectory } from "../../../boards/dataset-directory.js";
import type { OthelloGameRow } from "../../../boards/game-dataset.js";
import { gameSourceConfigSchema, generateGames } from "../../../boards/game-sources.js";
import { othelloBsps } from "../../../boards/othello/bsp.js";
import { kernels as selectedKernels } from "../../../compute/select.js";
import { initTfjs } from "../../../compute/tfjs.js";
import { fileSha256 } from "../../../io/file-hash.js";
import { readParquetTable } from "../../../io/parquet-table.js";
import { gptStateDict, loadGpt, saveGpt } from "../../../model/checkpoint.js";
import { createGpt, disposeGpt, runWithCache } from "../../../model/gpt.js";
import { tokenSequences } from "../../../model/training-data.js";
import { writeSaeDirectory } from "../../../sae/files.js";
import { createSae } from "../../../sae/params.js";
import { addEvalCommands } from "../../../pipeline/commands/eval.js";
import { saveTinyChessCheckpoint } from "../../model/tiny-checkpoint.js";
import { tinyTrainConfig } from "../../model/train-fixtures.js";
import { runCommand } from "./run-command.js";

let root: string;
let games: string;
let modelA: string;
let modelB: string;
let chessGames: string;
const HOOK = "blocks.0.hook_resid_post";
const D = 16; // tinyTrainConfig d_model

/** An SAE whose features are ReLU of the residual stream itself (W_enc = W_dec = I, biases 0). */
async function identitySae(dir: string, modelDir: string, hook = HOOK, dIn = D): Promise<void> {
  const eye = new Float32Array(dIn * dIn);
  for (let i = 0; i < dIn; i++) eye[i * dIn + i] = 1;
  await writeSaeDirectory(dir, {
    spec: { architecture: "standard", dIn, dSae: dIn, applyBDecToInput: true },
    params: { W_enc: eye, b_enc: new Float32Array(dIn), W_dec: eye.slice(), b_dec: new Float32Array(dIn) },
    trainer: "standard",
    site: { modelName: "tiny-othello", hookName: hook, contextSize: 59, datasetPath: "test", modelSha256: await fileSha256(path.join(modelDir, "model.safetensors")) },
  });
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "saec-eval-cmd-"));
  games = path.join(root, "games");
  const source = gameSourceConfigSchema.parse({ game: "othello", source: "random", count: 80, seed: 9, splits: { train: 0.4, val: 0.2 } });
  await writeDatasetDirectory(games, "othello", (await generateGames(source, { workers: 1 })).rows, source);
  const { tf } = await initTfjs();
  for (const [seed, name] of [[2, "a"], [3, "b"]] as const) {
    const model = createGpt(tf, tinyTrainConfig(seed));
    await saveGpt(model, path.join(root, `model-${name}`));
    disposeGpt(model);
  }
  chessGames = path.join(root, "chess-games");
  const chess = gameSourceConfigSchema.parse({ game: "chess", source: "random", count: 40, seed: 4, splits: { train: 0, val: 0.5 } });
  await writeDatasetDirectory(chessGames, "chess", (await generateGames(chess, { workers: 1 })).rows, chess);
  modelA = path.join(root, "model-a");
  modelB = path.join(root, "model-b");
});
afterAll(() => rm(root, { recursive: true, force: true }));

const evalBoard = async (...args: string[]) => runCommand("eval", addEvalCommands, ["board", ...args]);
const F1 = (tp: number, fp: number, fn: number) => {
  const p = tp / (tp + fp + 1e-8), r = tp / (tp + fn + 1e-8);
  return (2 * p * r) / (p + r + 1e-8);
};

/** Features [rows, F] of every real position of `rows` (one model run for all) and the truth of `fns` there. */
async function denseSet(rows: OthelloGameRow[], W: Float32Array, bias: Float32Array, F: number, fns: string[]) {
  const { tf } = await initTfjs();
  const model = await loadGpt(tf, modelA);
  const T = model.config.n_ctx;
  const tokens = tf.tensor2d(tokenSequences(model.config, rows).inputs, [rows.length, T], "int32");
  const { logits, cache } = runWithCache(model, tokens, [HOOK]);
  const resid = cache.get(HOOK)!.dataSync() as Float32Array;
  tf.dispose([tokens, logits, ...cache.values()]);
  disposeGpt(model);
  const x: number[] = [], gameOf: number[] = [];
  const truth = new Map<string, Uint8Array[]>(fns.map((id) => [id, []]));
  rows.forEach((row, g) => {
    const tables = othelloBsps(row.moves, {}, fns); // row i = after move i
    for (let i = 0; i < Math.min(row.length, T); i++) {
      for (let d = 0; d < D; d++) x.push(resid[(g * T + i) * D + d]);
      for (const id of fns) {
        const width = tables.get(id)!.data.length / row.length;
        truth.get(id)!.push(tables.get(id)!.data.subarray(i * width, (i + 1) * width));
      }
      gameOf.push(g);
    }
  });
  // the encode itself is the SAE's (tested in test/sae); one call for the whole set, as the evaluation's one chunk
  const sae = createSae((await selectedKernels()).kernels, { architecture: "standard", dIn: D, dSae: F, applyBDecToInput: false }, { W_enc: W, b_enc: bias, W_dec: new Float32Array(F * D), b_dec: new Float32Array(D) });
  return { acts: sae.encode(Float32Array.from(x), gameOf.length), truth, gameOf, rows: gameOf.length };
}

describe("saec eval board", () => {
  it("writes the coverage and reconstruction of a dense computation over the model's activations", async () => {
    // token detectors: feature t = ReLU(x·W_E[t] − ½‖W_E[t]‖²), so features carry labels (the square just played is "theirs")
    const { tf } = await initTfjs();
    const model = await loadGpt(tf, modelA);
    const WE = gptStateDict(model).get("embed.W_E")!.data as Float32Array; // [61, D]
    disposeGpt(model);
    const F = 61;
    const W = new Float32Array(D * F), bias = new Float32Array(F);
    for (let t = 0; t < F; t++) {
      let norm = 0;
      for (let d = 0; d < D; d++) (W[d * F + t] = WE[t * D + d]), (norm += WE[t * D + d] ** 2);
      bias[t] = Math.fround(-0.5 * norm);
    }
    const sae = path.join(root, "sae-a");
    await writeSaeDirectory(sae, {
      spec: { architecture: "standard", dIn: D, dSae: F, applyBDecToInput: false },
      params: { W_enc: W, b_enc: bias, W_dec: new Float32Array(F * D), b_dec: new Float32Array(D) },
      trainer: "standard",
      site: { modelName: "tiny-othello", hookName: HOOK, contextSize: 59, datasetPath: "test", modelSha256: await fileSha256(path.join(modelA, "model.safetensors")) },
    });
    const { stdout } = await evalBoard("--sae", sae, "--model", modelA, "--games", games, "--label-games", "12", "--recon-games", "8", "--fire-games", "6", "--batch-games", "64", "--functions", "legal,mine_masked");
    expect(stdout).toMatch(/sae\s+.*sae-a\s+standard\s+blocks\.0\.hook_resid_post/);
    const metrics = JSON.parse(await readFile(path.join(sae, "board_metrics.json"), "utf8"));
    expect(metrics.splits).toMatchObject({ split: "test", n_label_games: 12, n_recon_games: 8, n_fire_games: 6 });

    const testGames = (await readDatasetDirectory(games, ["test"])) as OthelloGameRow[];
    const label = await denseSet(testGames.slice(0, 12), W, bias, F, ["legal", "mine_masked"]);
    const recon = await denseSet(testGames.slice(12, 20), W, bias, F, ["legal", "mine_masked"]);
    expect(metrics.splits.n_label_positions).toBe(label.rows);
    // spec §3–4: alive and max over the first 6 games; τ = fround(fround(k·0.1)·max)
    const max = new Float32Array(F), alive: number[] = [];
    label.gameOf.forEach((g, n) => {
      if (g < 6) for (let f = 0; f < F; f++) max[f] = Math.max(max[f], label.acts[n * F + f]);
    });
    for (let f = 0; f < F; f++) if (max[f] !== 0) alive.push(f);
    expect(metrics.n_alive).toBe(alive.length);
    const on = (set: typeof label, n: number, f: number, k: number) => set.acts[n * F + f] > Math.fround(Math.fround(k * 0.1) * max[f]);

    for (const [id, classes, dRef] of [["legal", 1, 64], ["mine_masked", 3, 192]] as const) {
      const width = 64 * classes;
      const labelTruth = label.truth.get(id)!, reconTruth = recon.truth.get(id)!;
      // spec §5–6 dense: F1[k,f,j] on the labelling set, best over features, coverage_ref(k) = Σ_j best / D_ref
      const byK: number[] = [];
      const labels: boolean[][][] = []; // [k][f][j]
      let labelled = 0;
      for (let k = 0; k <= 10; k++) {
        labels.push([]);
        const best = new Float64Array(width);
        for (const f of alive) {
          labels[k][f] = [];
          for (let j = 0; j < width; j++) {
            let tp = 0, fp = 0, fn = 0;
            labelTruth.forEach((truth, n) => {
              const fires = on(label, n, f, k);
              if (fires && truth[j]) tp++;
              else if (fires) fp++;
              else if (truth[j]) fn++;
            });
            best[j] = Math.max(best[j], F1(tp, fp, fn));
            labels[k][f][j] = tp >= 10 && tp / (tp + fp) >= 0.95;
            if (labels[k][f][j]) labelled++;
          }
        }
        byK.push(best.reduce((sum, value) => sum + value, 0) / dRef);
      }
      const got = metrics.functions[id];
      byK.forEach((value, k) => expect(got.coverage_ref_by_k[k]).toBeCloseTo(value, 12));
      expect(got.coverage_ref).toBeCloseTo(Math.max(...byK), 12);
      // spec §8 dense: predictions from the labels on the reconstruction set; class and per-square micro F1
      const classF1: number[] = [], squareF1: number[] = [];
      for (let k = 0; k <= 9; k++) {
        let tp = 0, fp = 0, fn = 0, x = 0;
        reconTruth.forEach((truth, n) => {
          for (let square = 0; square < 64; square++) {
            let squareTp = 0, squareFp = 0;
            for (let c = 0; c < classes; c++) {
              const j = square * classes + c;
              const pred = alive.some((f) => labels[k][f][j] && on(recon, n, f, k));
              if (pred && truth[j]) tp++, squareTp++;
              else if (pred) fp++, squareFp++;
              else if (truth[j]) fn++;
            }
            if (classes > 1 && squareTp === 1 && squareFp === 1) x++;
          }
        });
        classF1.push(F1(tp, fp, fn));
        squareF1.push(F1(tp - x, fp, fn));
      }
      const kStar = squareF1.indexOf(Math.max(...squareF1));
      classF1.forEach((value, k) => expect(got.f1_class_by_k[k]).toBeCloseTo(value, 12));
      squareF1.forEach((value, k) => expect(got.f1_square_by_k[k]).toBeCloseTo(value, 12));
      expect(got.reconstruction_k).toBe(kStar);
      expect(got.reconstruction).toBeCloseTo(classF1[kStar], 12);
      if (id === "mine_masked") {
        expect(labelled).toBeGreaterThan(0); // the check above is not vacuous
        expect(got.reconstruction).toBeGreaterThan(0);
      }
    }
    expect(metrics.aggregates.board_coverage_ref).toBe(metrics.functions.mine_masked.coverage_ref);

    const annotations = await readParquetTable(path.join(sae, "feature_annotations.parquet"));
    expect(annotations.schema.fields.map((field) => field.name)).toEqual(["feature", "kind", "rank", "bsp", "function", "k", "f1", "precision", "recall", "tp", "on"]);
    const features = new Set(Array.from(annotations.getChild("feature")!.toArray() as Int32Array));
    for (const f of features) expect(alive).toContain(f);
    const stats = await readParquetTable(path.join(sae, "feature_thresholds.parquet"));
    expect(Array.from(stats.getChild("max_activation")!.toArray() as Float64Array)).toEqual(Array.from(max));
    expect(Array.from(stats.getChild("alive")!.toArray() as Int32Array)).toEqual(Array.from(max, (m) => (m !== 0 ? 1 : 0)));
  });

  it("scores the MLP neurons next to an SAE and writes the comparison table", async () => {
    const sae = path.join(root, "sae-a2");
    await identitySae(sae, modelA);
    const out = path.join(root, "out-mlp");
    const { stdout } = await evalBoard("--sae", sae, "--model", modelA, "--games", games, "--label-games", "6", "--recon-games", "6", "--mlp-neurons", "--out", out, "--functions", "mine_masked,legal");
    expect(stdout).toMatch(/mlp neurons\s+mlp-neurons:blocks\.0\.mlp\.hook_post\s+identity/);
    const mlp = JSON.parse(await readFile(path.join(out, "mlp-neurons-blocks.0.mlp.hook_post", "board_metrics.json"), "utf8"));
    expect(mlp).toMatchObject({ kind: "mlp-neurons", hook: "blocks.0.mlp.hook_post", n_features: 32, n_alive: 32 }); // GELU outputs are never exactly 0
    const comparison = JSON.parse(await readFile(path.join(out, "board_comparison.json"), "utf8"));
    expect(comparison.map((row: { approach: string }) => row.approach)).toEqual(["sae", "mlp neurons"]);
    const table = await readParquetTable(path.join(out, "board_comparison.parquet"));
    expect(table.numRows).toBe(2);
    expect(table.getChild("coverage_ref")!.get(1)).toBeCloseTo(mlp.aggregates.board_coverage_ref, 12);
    // results of the SAE went under --out, not into its directory
    expect(existsSync(path.join(out, "sae-a2", "board_metrics.json"))).toBe(true);
    expect(existsSync(path.join(sae, "board_metrics.json"))).toBe(false);
  });

  it("scores a chess model at the first 20 dots of each game, every function, with the strategy mean", async () => {
    const chessModel = path.join(root, "chess-model");
    await saveTinyChessCheckpoint(chessModel, 256);
    const out = path.join(root, "chess-out");
    await evalBoard("--model", chessModel, "--games", chessGames, "--mlp-neurons", "--out", out, "--label-games", "6", "--recon-games", "4", "--min-dots", "5");
    const metrics = JSON.parse(await readFile(path.join(out, "mlp-neurons-blocks.0.mlp.hook_post", "board_metrics.json"), "utf8"));
    // scored positions counted here from the movetexts: games with ≥ 5 dots in their first 256 characters, ≤ 20 dots each
    const dots = (moves: string) => [...moves.slice(0, 256)].filter((c) => c === ".").length;
    const usable = (await readDatasetDirectory(chessGames, ["test"])).filter((row) => dots(row.moves as string) >= 5);
    const scored = (rows: typeof usable) => rows.reduce((sum, row) => sum + Math.min(20, dots(row.moves as string)), 0);
    expect(metrics.splits).toMatchObject({ n_label_games: 6, n_recon_games: 4, n_label_positions: scored(usable.slice(0, 6)), n_recon_positions: scored(usable.slice(6, 10)) });
    expect(Object.keys(metrics.functions)).toHaveLength(4 + 14);
    expect(metrics.functions.piece_masked.d_ref).toBe(768);
    const strategy = Object.keys(metrics.functions).slice(4);
    const mean = (key: string) => strategy.reduce((sum, id) => sum + metrics.functions[id][key], 0) / 14;
    expect(metrics.aggregates.strategy_coverage).toBeCloseTo(mean("coverage"), 12);
    expect(metrics.aggregates.strategy_reconstruction).toBeCloseTo(mean("reconstruction"), 12);
    expect(metrics.aggregates.board_reconstruction).toBe(metrics.functions.piece_masked.reconstruction);
    for (const id of strategy) expect(metrics.functions[id].trivial_f1 === null).toBe(metrics.functions[id].d_ref !== 1);
  });

  it("refuses an SAE trained on another model, naming both, and writes nothing", async () => {
    const sae = path.join(root, "sae-b");
    await identitySae(sae, modelB);
    await expect(evalBoard("--sae", sae, "--model", modelA, "--games", games, "--label-games", "4", "--recon-games", "4")).rejects.toThrow(
      new RegExp(`sae-b: the SAE was trained on model "tiny-othello" with weights sha256 [0-9a-f]{12}…, the evaluation model .*model-a \\("tiny-othello"\\) has [0-9a-f]{12}…`),
    );
    expect(existsSync(path.join(sae, "board_metrics.json"))).toBe(false);
  });

  it("refuses an SAE whose hook the model lacks or whose width differs", async () => {
    const deep = path.join(root, "sae-deep");
    await identitySae(deep, modelA, "blocks.3.hook_resid_post");
    await expect(evalBoard("--sae", deep, "--model", modelA, "--games", games, "--label-games", "4", "--recon-games", "4")).rejects.toThrow(/the SAE reads hook "blocks.3.hook_resid_post", which model .*model-a \("tiny-othello"\) does not have/);
    const wide = path.join(root, "sae-mlp");
    await identitySae(wide, modelA, "blocks.0.mlp.hook_pre", D);
    await expect(evalBoard("--sae", wide, "--model", modelA, "--games", games, "--label-games", "4", "--recon-games", "4")).rejects.toThrow(/the SAE's d_in is 16, hook "blocks.0.mlp.hook_pre" of model .* has width 32/);
  });

  it("refuses games of the other game, naming both", async () => {
    const sae = path.join(root, "sae-a4");
    await identitySae(sae, modelA);
    await expect(evalBoard("--sae", sae, "--model", modelA, "--games", chessGames, "--label-games", "2", "--recon-games", "2")).rejects.toThrow(
      /chess-games: the games are chess, model .*model-a \("tiny-othello"\) plays othello/,
    );
  });

  it("refuses too few games, naming the split and the counts", async () => {
    const sae = path.join(root, "sae-a3");
    await identitySae(sae, modelA);
    await expect(evalBoard("--sae", sae, "--model", modelA, "--games", games, "--label-games", "1000")).rejects.toThrow(/\(test\): \d+ usable games, the evaluation needs 1000 labelling \+ 1000 reconstruction games/);
  });
});
