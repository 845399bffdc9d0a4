// Training (spec model.md §4): the schedule, the loss and its masking, micro-batch invariance, the data order,
// loss going down, legality evaluation against an independent Othello, and exact resume after a SIGKILL.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type * as tfTypes from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { writeDatasetDirectory } from "../../boards/dataset-directory.js";
import type { GameRow, OthelloGameRow } from "../../boards/game-dataset.js";
import { squareToToken } from "../../boards/othello/tokenizer.js";
import { initTfjs } from "../../compute/tfjs.js";
import { loadGpt, MODEL_WEIGHTS_FILE } from "../../model/checkpoint.js";
import { presetConfig } from "../../model/config.js";
import { evaluateModel, maskedCrossEntropySum } from "../../model/evaluate.js";
import { createGpt, disposeGpt, forward, type Gpt } from "../../model/gpt.js";
import { learningRate, stepGeometry, trainGpt, trainSettingsSchema, TRAIN_CHECKPOINT_DIR, TRAIN_METRICS_FILE, TRAIN_MODEL_DIR } from "../../model/train.js";
import { SequenceOrder, tokenSequences } from "../../model/training-data.js";
import { ArrayOthello } from "../boards/othello/array-othello.js";
import { temporaryDirs } from "../temporary-dir.js";
import { tinyGames, tinyTrainConfig } from "./train-fixtures.js";

let tf: typeof tfTypes;
let games: GameRow[];
let train: GameRow[];
let val: GameRow[];
const temporaryDir = temporaryDirs("saec-train-");

beforeAll(async () => {
  tf = (await initTfjs()).tf;
  games = await tinyGames(400);
  train = games.slice(0, 360);
  val = games.slice(360);
});

describe("schedule and geometry", () => {
  it("follows nanoGPT's get_lr: linear warm-up from (it+1)/(W+1), cosine to peak/10", () => {
    const settings = trainSettingsSchema.parse({ peakLr: 1e-3, warmupSteps: 4 });
    const total = 14;
    expect(learningRate(settings, 0, total)).toBeCloseTo(1e-3 / 5, 15);
    expect(learningRate(settings, 3, total)).toBeCloseTo(4e-3 / 5, 15);
    expect(learningRate(settings, 4, total)).toBeCloseTo(1e-3, 15); // r = 0
    expect(learningRate(settings, 9, total)).toBeCloseTo(1e-4 + 0.5 * 9e-4, 15); // r = 1/2
    expect(learningRate(settings, 14, total)).toBeCloseTo(1e-4, 15); // r = 1
  });

  it("sizes steps in tokens as the spec's table does", () => {
    const othello = stepGeometry(trainSettingsSchema.parse({ batchTokens: 4096, trainTokens: 12_000_000 }), 59);
    expect(othello).toEqual({ sequencesPerStep: 69, steps: 2948 });
    const chess = stepGeometry(trainSettingsSchema.parse({ batchTokens: 4096, trainTokens: 8_000_000 }), 256);
    expect(chess).toEqual({ sequencesPerStep: 16, steps: 1954 });
  });

  it("keeps unknown settings out", () => {
    expect(() => trainSettingsSchema.parse({ learningRate: 1 })).toThrow(/learningRate/);
  });
});

describe("data", () => {
  it("builds Othello pairs with pad targets masked", () => {
    const data = tokenSequences(tinyTrainConfig(), train.slice(0, 5));
    for (let g = 0; g < 5; g++) {
      const row = train[g] as OthelloGameRow;
      for (let i = 0; i < 59; i++) {
        expect(data.inputs[g * 59 + i]).toBe(i < row.length ? squareToToken(row.moves[i]) : 0);
        expect(data.targets[g * 59 + i]).toBe(i + 1 < row.length ? squareToToken(row.moves[i + 1]) : 0);
        expect(data.mask[g * 59 + i]).toBe(i + 1 < row.length ? 1 : 0);
      }
    }
  });

  it("visits every sequence exactly once per epoch, in an order fixed by the seed", () => {
    const order = new SequenceOrder(37, 9);
    for (let epoch = 0; epoch < 3; epoch++) {
      const seen = Array.from({ length: 37 }, (_, i) => order.at(epoch * 37 + i));
      expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 37 }, (_, i) => i));
    }
    const again = new SequenceOrder(37, 9);
    expect(Array.from({ length: 80 }, (_, k) => again.at(k))).toEqual(Array.from({ length: 80 }, (_, k) => order.at(k)));
    const other = new SequenceOrder(37, 10);
    expect(Array.from({ length: 37 }, (_, k) => other.at(k))).not.toEqual(Array.from({ length: 37 }, (_, k) => order.at(k)));
  });
});

describe("loss and evaluation", () => {
  it("sums cross-entropy over unmasked targets only", () => {
    const [B, T, V] = [2, 3, 5];
    const logits = Float32Array.from({ length: B * T * V }, (_, i) => Math.sin(i * 1.7) * 2);
    const targets = Int32Array.from([1, 4, 0, 2, 3, 3]);
    const mask = Float32Array.from([1, 1, 0, 1, 0, 1]);
    let expected = 0;
    for (let p = 0; p < B * T; p++) {
      if (!mask[p]) continue;
      const row = Array.from(logits.subarray(p * V, (p + 1) * V));
      const max = Math.max(...row);
      const logSum = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
      expected += logSum - row[targets[p]];
    }
    const value = tf.tidy(() =>
      maskedCrossEntropySum(tf, tf.tensor3d(logits, [B, T, V]), tf.tensor2d(targets, [B, T], "int32"), tf.tensor2d(mask, [B, T])).dataSync()[0],
    );
    expect(value).toBeCloseTo(expected, 4);
  });

  it("counts top-1 legality exactly as an independent Othello does", () => {
    const model = createGpt(tf, tinyTrainConfig(11));
    const rows = val.slice(0, 12) as OthelloGameRow[];
    const evaluation = evaluateModel(model, rows, 5);
    let legal = 0;
    let positions = 0;
    let lossSum = 0;
    for (const row of rows) {
      const tokens = new Int32Array(59);
      row.moves.forEach((square, i) => i < 59 && (tokens[i] = squareToToken(square)));
      const logits = tf.tidy(() => forward(model, tf.tensor2d(tokens, [1, 59], "int32")).dataSync());
      const board = new ArrayOthello();
      for (let i = 0; i + 1 < row.length; i++) {
        board.play(row.moves[i]);
        const scores = Array.from(logits.subarray(i * 61, (i + 1) * 61));
        const best = scores.indexOf(Math.max(...scores));
        positions++;
        if (best !== 0 && board.moves.map(squareToToken).includes(best)) legal++;
        const max = Math.max(...scores);
        lossSum += max + Math.log(scores.reduce((s, x) => s + Math.exp(x - max), 0)) - scores[squareToToken(row.moves[i + 1])];
      }
    }
    expect(evaluation.positions).toBe(positions);
    expect(evaluation.legalRate).toBe(legal / positions);
    expect(evaluation.loss).toBeCloseTo(lossSum / positions, 4);
    disposeGpt(model);
  });
});

/** Final weights of a training run as safetensors bytes. */
async function weightsOf(out: string): Promise<Buffer> {
  return readFile(path.join(out, TRAIN_MODEL_DIR, MODEL_WEIGHTS_FILE));
}

describe("training", () => {
  const settings = { batchTokens: 472, microBatch: 8, trainTokens: 472 * 12, peakLr: 1e-2, warmupSteps: 2, evalEvery: 4, evalGames: 20, seed: 1 };

  it("lowers the loss, writes metrics, a trained checkpoint with its recipe, and no tensors leak", async () => {
    const out = await temporaryDir();
    const before = tf.memory().numTensors;
    const model = createGpt(tf, tinyTrainConfig());
    const initial = evaluateModel(model, val.slice(0, 20));
    const result = await trainGpt({ model, settings: { ...settings, peakLr: 3e-2, trainTokens: 472 * 40, evalEvery: 10 }, train, val, out });
    expect(result.steps).toBe(40);
    expect(result.finalEval.loss).toBeLessThan(initial.loss - 0.15); // ln 61 ≈ 4.11 at init; 40 small steps reach ≈ 3.9
    const lines = (await readFile(path.join(out, TRAIN_METRICS_FILE), "utf8")).trim().split("\n").map((line) => JSON.parse(line));
    expect(lines.filter((line) => line.type === "train").map((line) => line.step)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(lines.filter((line) => line.type === "eval").map((line) => line.step)).toEqual([10, 20, 30, 40]);
    expect(existsSync(path.join(out, TRAIN_CHECKPOINT_DIR))).toBe(false);
    const saved = await loadGpt(tf, path.join(out, TRAIN_MODEL_DIR));
    expect(saved.config.training).toMatchObject({ steps: 40, sequences_per_step: 8, peakLr: 3e-2 });
    expect(saved.config.metrics).toMatchObject({ val_loss: result.finalEval.loss });
    disposeGpt(saved);
    disposeGpt(result.model);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("gives the same step whatever the micro-batch size (every target token weighs the same)", async () => {
    const one = { ...settings, trainTokens: 472, microBatch: 8 };
    const runs: Gpt[] = [];
    for (const microBatch of [8, 3]) {
      const result = await trainGpt({ model: createGpt(tf, tinyTrainConfig()), settings: { ...one, microBatch }, train, val, out: await temporaryDir() });
      runs.push(result.model);
    }
    for (const [name, variable] of runs[0].params) {
      const a = variable.dataSync();
      const b = runs[1].params.get(name)!.dataSync();
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
      expect(worst, name).toBeLessThan(1e-5);
    }
    runs.forEach(disposeGpt);
  });

  it("resumes a stopped run bit-identically, and refuses a checkpoint made with other settings", async () => {
    const clean = await temporaryDir();
    disposeGpt((await trainGpt({ model: createGpt(tf, tinyTrainConfig()), settings: { ...settings, checkpointEvery: 3 }, train, val, out: clean })).model);
    const stopped = await temporaryDir();
    const first = await trainGpt({ model: createGpt(tf, tinyTrainConfig()), settings: { ...settings, checkpointEvery: 3 }, train, val, out: stopped, stopAfterSteps: 7 });
    expect(first.interrupted).toBe(true);
    disposeGpt(first.model);
    await expect(
      trainGpt({ model: createGpt(tf, tinyTrainConfig()), settings: { ...settings, checkpointEvery: 3, peakLr: 2e-2 }, train, val, out: stopped }),
    ).rejects.toThrow(/other training settings/);
    const resumed = await trainGpt({ model: createGpt(tf, tinyTrainConfig()), settings: { ...settings, checkpointEvery: 3 }, train, val, out: stopped });
    expect(resumed.resumedFrom).toBe(7);
    disposeGpt(resumed.model);
    expect((await weightsOf(stopped)).equals(await weightsOf(clean))).toBe(true);
  });

  it("resumes after a SIGKILL mid-run and ends with the same weights and metrics as an uninterrupted run", async () => {
    const datasetDir = path.join(await temporaryDir(), "games");
    await writeDatasetDirectory(datasetDir, "othello", games, { test: true });
    const long = { ...settings, trainTokens: 472 * 60, evalEvery: 20, checkpointEvery: 5 };
    const clean = await temporaryDir();
    disposeGpt((await trainGpt({ model: createGpt(tf, tinyTrainConfig()), settings: long, train: games.filter((g) => g.split === "train"), val: games.filter((g) => g.split === "val"), out: clean })).model);

    const killed = await temporaryDir();
    const child = spawn(process.execPath, ["--import", "tsx", path.resolve("test/model/fixture-train.ts"), datasetDir, killed, JSON.stringify(long)], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    let done = false;
    void exited.then(() => (done = true));
    let lastStep = 0;
    for (let waited = 0; waited < 60_000 && lastStep < 12 && !done; waited += 10) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      const text = await readFile(path.join(killed, TRAIN_METRICS_FILE), "utf8").catch(() => "");
      const steps = text.split("\n").filter((line) => line.startsWith('{"type":"train"')).length;
      lastStep = steps;
    }
    child.kill("SIGKILL");
    await exited;
    expect(done && lastStep < 12 ? stderr : "", "the child finished before it was killed").toBe("");
    expect(existsSync(path.join(killed, TRAIN_MODEL_DIR))).toBe(false);

    const resumed = await trainGpt({ model: createGpt(tf, tinyTrainConfig()), settings: long, train: games.filter((g) => g.split === "train"), val: games.filter((g) => g.split === "val"), out: killed });
    expect(resumed.resumedFrom).toBeGreaterThanOrEqual(10);
    disposeGpt(resumed.model);
    expect((await weightsOf(killed)).equals(await weightsOf(clean))).toBe(true);
    const withoutTimes = async (dir: string) =>
      (await readFile(path.join(dir, TRAIN_METRICS_FILE), "utf8")).trim().split("\n").map((line) => ({ ...JSON.parse(line), elapsed_s: undefined }));
    expect(await withoutTimes(killed)).toEqual(await withoutTimes(clean));
  }, 120_000);
});

describe("dropout", () => {
  it("drops at nanoGPT's places only in training mode, scaled by 1/(1−p), from the seed", () => {
    const model = createGpt(tf, tinyTrainConfig(31));
    const tokens = tf.tensor2d(Int32Array.from({ length: 2 * 59 }, (_, i) => 1 + (i % 60)), [2, 59], "int32");
    const residPre = (training?: { dropout: number; seed: number }) =>
      tf.tidy(() => {
        let seen: Float32Array | undefined;
        const logits = forward(model, tokens, (name, x) => void (name === "blocks.0.hook_resid_pre" && (seen = x.dataSync() as Float32Array)), training);
        return { resid: seen!, logits: logits.dataSync() as Float32Array };
      });
    const clean = residPre();
    const same = residPre({ dropout: 0, seed: 1 });
    expect(Buffer.from(same.logits.buffer).equals(Buffer.from(clean.logits.buffer))).toBe(true);
    const dropped = residPre({ dropout: 0.5, seed: 1 });
    let zeros = 0;
    for (let i = 0; i < clean.resid.length; i++) {
      if (dropped.resid[i] === 0) zeros++;
      else expect(dropped.resid[i]).toBeCloseTo(2 * clean.resid[i], 5);
    }
    expect(zeros / clean.resid.length).toBeGreaterThan(0.45);
    expect(zeros / clean.resid.length).toBeLessThan(0.55);
    expect(Buffer.from(residPre({ dropout: 0.5, seed: 1 }).logits.buffer).equals(Buffer.from(dropped.logits.buffer))).toBe(true);
    expect(Buffer.from(residPre({ dropout: 0.5, seed: 2 }).logits.buffer).equals(Buffer.from(dropped.logits.buffer))).toBe(false);
    tokens.dispose();
    disposeGpt(model);
  });

  it("resumes a run with dropout bit-identically (masks depend on seed and step)", async () => {
    const config = { ...tinyTrainConfig(), dropout: 0.1 };
    const settings = { batchTokens: 472, microBatch: 4, trainTokens: 472 * 6, peakLr: 1e-2, warmupSteps: 1, evalEvery: 3, evalGames: 5, seed: 4 };
    const clean = await temporaryDir();
    disposeGpt((await trainGpt({ model: createGpt(tf, config), settings, train, val, out: clean })).model);
    const stopped = await temporaryDir();
    disposeGpt((await trainGpt({ model: createGpt(tf, config), settings, train, val, out: stopped, stopAfterSteps: 4 })).model);
    disposeGpt((await trainGpt({ model: createGpt(tf, config), settings, train, val, out: stopped })).model);
    expect((await weightsOf(stopped)).equals(await weightsOf(clean))).toBe(true);
  });
});

describe("presets", () => {
  it("trains the fixture preset's recipe from the table", () => {
    const config = presetConfig("othello-2l-64", 1);
    expect(stepGeometry(trainSettingsSchema.parse({ batchTokens: 2048, trainTokens: 200_000 }), config.n_ctx)).toEqual({ sequencesPerStep: 35, steps: 97 });
  });
});
