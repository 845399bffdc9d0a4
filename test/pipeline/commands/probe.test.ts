// `saec probe train`: per-layer probes of a tiny Othello model (default hooks, the training loss falls, the files
// hold what the metrics say and reproduce byte for byte from the seed, hooks grouped into model passes by memory),
// a tiny chess model's piece probe, and refusals of bad input (unknown hook, a chess dataset for an Othello model,
// an unknown split).

import { readFile, rm, mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readDatasetDirectory, writeDatasetDirectory } from "../../../boards/dataset-directory.js";
import { gameSourceConfigSchema, generateGames } from "../../../boards/game-sources.js";
import { evaluateLinearProbe, readLinearProbes } from "../../../boards/metrics/linear-probe.js";
import { evaluationSets, scoredActivations, scoredPositions } from "../../../boards/metrics/scored-games.js";
import { chessPieceMasked } from "../../../boards/chess/bsp.js";
import { othelloMine, othelloMineMasked } from "../../../boards/othello/bsp.js";
import { kernels as selectedKernels } from "../../../compute/select.js";
import { initTfjs } from "../../../compute/tfjs.js";
import { loadGpt } from "../../../model/checkpoint.js";
import { disposeGpt } from "../../../model/gpt.js";
import { addProbeCommands } from "../../../pipeline/commands/probe.js";
import { hookGroups, PROBE_METRICS_FILE, PROBE_WEIGHTS_FILE, type ProbeMetricsRecord } from "../../../pipeline/stages/probe.js";
import { saveTinyCheckpoint, saveTinyChessCheckpoint } from "../../model/tiny-checkpoint.js";
import { runCommand } from "./run-command.js";

let root: string;
let games: string;
let chessGames: string;
let chessSplitGames: string;
let checkpoint: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "saec-probe-cmd-"));
  games = path.join(root, "games");
  const source = gameSourceConfigSchema.parse({ game: "othello", source: "random", count: 50, seed: 8, splits: { train: 0, val: 0.5 } });
  await writeDatasetDirectory(games, "othello", (await generateGames(source, { workers: 1 })).rows, source);
  chessGames = path.join(root, "chess");
  const chess = gameSourceConfigSchema.parse({ game: "chess", source: "random", count: 4, seed: 1 });
  await writeDatasetDirectory(chessGames, "chess", (await generateGames(chess, { workers: 1 })).rows, chess);
  chessSplitGames = path.join(root, "chess-splits");
  const chessSplit = gameSourceConfigSchema.parse({ game: "chess", source: "random", count: 24, seed: 2, splits: { train: 0, val: 0.5 } });
  await writeDatasetDirectory(chessSplitGames, "chess", (await generateGames(chessSplit, { workers: 1 })).rows, chessSplit);
  checkpoint = path.join(root, "model");
  await saveTinyCheckpoint(checkpoint, 4);
});
afterAll(() => rm(root, { recursive: true, force: true }));

const probe = async (...args: string[]) => (await runCommand("probe", addProbeCommands, ["train", ...args])).stdout;
const small = ["--train-games", "12", "--label-games", "4", "--recon-games", "6", "--epochs", "4"];

describe("saec probe train", () => {
  it("trains a probe per layer, writes both files, and a rerun with the seed gives the same bytes", async () => {
    const out = path.join(root, "probes");
    const stdout = await probe("--model", checkpoint, "--games", games, "--out", out, ...small);
    const metrics = JSON.parse(await readFile(path.join(out, PROBE_METRICS_FILE), "utf8")) as ProbeMetricsRecord;
    const hook = "blocks.0.hook_resid_post"; // the tiny model has one layer
    expect(Object.keys(metrics.hooks)).toEqual([hook]);

    const val = await readDatasetDirectory(games, ["val"], { checkOthelloMoves: false });
    const test = await readDatasetDirectory(games, ["test"], { checkOthelloMoves: false });
    expect(val.length).toBeGreaterThanOrEqual(12);
    const recon = test.slice(4, 10);
    expect(metrics).toMatchObject({
      model: "tiny-othello", game: "othello", function: "mine", board_function: "mine_masked",
      train: { split: "val", games: 12, positions: val.slice(0, 12).reduce((sum, row) => sum + Math.min(row.length, 59), 0), epochs: 4, batch_games: 2, lr: 1e-3, betas: [0.9, 0.99], weight_decay: 0.01, seed: 0 },
      eval: { split: "test", games: 6, positions: recon.reduce((sum, row) => sum + Math.min(row.length, 59), 0) },
    });
    const losses = metrics.hooks[hook].train_loss_by_epoch;
    expect(losses).toHaveLength(4);
    for (let epoch = 1; epoch < 4; epoch++) expect(losses[epoch]).toBeLessThan(losses[epoch - 1]); // the loss decreases
    expect(metrics.hooks[hook].final_train_loss).toBe(losses[3]);
    expect(stdout).toContain(`${out}: 1 mine probe(s) of tiny-othello, trained on 12 val games`);
    expect(stdout).toMatch(new RegExp(`^blocks\\.0\\.hook_resid_post\\s+${metrics.hooks[hook].accuracy.toFixed(4)}\\s+${metrics.hooks[hook].reconstruction.toFixed(4)}\\s`, "m"));

    // the stored probe, re-evaluated through the exported evaluation, gives the recorded numbers
    const probes = await readLinearProbes(path.join(out, PROBE_WEIGHTS_FILE));
    expect([...probes.keys()]).toEqual([hook]);
    expect(probes.get(hook)!.dIn).toBe(16);
    expect(probes.get(hook)!.weight).toHaveLength(16 * 192);
    const model = await loadGpt((await initTfjs()).tf, checkpoint);
    try {
      const { recon: sameRecon } = evaluationSets(test, "test", { labelGames: 4, reconGames: 6 });
      expect(sameRecon.map((row) => row.gameId)).toEqual(recon.map((row) => row.gameId));
      const positions = scoredPositions(recon, [othelloMine, othelloMineMasked], { nCtx: 59 });
      const activations = scoredActivations(model, recon, positions, [hook]).get(hook)!;
      const { positions: rows, ...evaluation } = evaluateLinearProbe((await selectedKernels()).kernels, probes.get(hook)!, activations, positions.truth, positions.game.length);
      expect(rows).toBe(metrics.eval.positions);
      const { final_train_loss: _loss, train_loss_by_epoch: _losses, ...recorded } = metrics.hooks[hook];
      expect(evaluation).toEqual(recorded);
      expect(evaluation.tp + evaluation.fn).toBe(positions.truth.get("mine_masked")!.reduce((sum, v) => sum + v, 0));
    } finally {
      disposeGpt(model);
    }

    const again = path.join(root, "probes-again");
    await probe("--model", checkpoint, "--games", games, "--out", again, ...small);
    for (const file of [PROBE_WEIGHTS_FILE, PROBE_METRICS_FILE]) expect(await readFile(path.join(again, file))).toEqual(await readFile(path.join(out, file)));
    const otherSeed = path.join(root, "probes-seed-1");
    await probe("--model", checkpoint, "--games", games, "--out", otherSeed, ...small, "--seed", "1");
    expect(await readFile(path.join(otherSeed, PROBE_WEIGHTS_FILE))).not.toEqual(await readFile(path.join(out, PROBE_WEIGHTS_FILE)));
  });

  it("groups hooks into model passes by the memory their activations take", () => {
    const widths: Record<string, number> = { a: 16, b: 32, c: 16, d: 64 };
    const groups = (bytes: number) => hookGroups(["a", "b", "c", "d"], (hook) => widths[hook], 10, bytes);
    expect(groups(10 * 128 * 4)).toEqual([["a", "b", "c", "d"]]);
    expect(groups(10 * 64 * 4)).toEqual([["a", "b", "c"], ["d"]]);
    expect(groups(10 * 48 * 4)).toEqual([["a", "b"], ["c"], ["d"]]); // d alone exceeds the budget: a pass of its own
    expect(groups(1)).toEqual([["a"], ["b"], ["c"], ["d"]]);
  });

  it("trains listed hooks of other widths", async () => {
    const out = path.join(root, "two-hooks");
    const hooks = ["blocks.0.mlp.hook_post", "blocks.0.hook_resid_mid"];
    const args = ["--model", checkpoint, "--games", games, "--out", out, ...small, "--epochs", "1", "--hooks", hooks.join(",")];
    await probe(...args);
    const metrics = JSON.parse(await readFile(path.join(out, PROBE_METRICS_FILE), "utf8")) as ProbeMetricsRecord;
    expect(Object.keys(metrics.hooks)).toEqual(hooks);
    const probes = await readLinearProbes(path.join(out, PROBE_WEIGHTS_FILE));
    expect(probes.get(hooks[0])!.dIn).toBe(32); // d_mlp
    expect(probes.get(hooks[1])!.dIn).toBe(16);
  });

  it("probes a chess model's `piece` on the dots, scored through piece_masked", async () => {
    const chessModel = path.join(root, "chess-model");
    await saveTinyChessCheckpoint(chessModel, 64);
    const out = path.join(root, "chess-probes");
    await probe("--model", chessModel, "--games", chessSplitGames, "--out", out, "--train-games", "6", "--label-games", "2", "--recon-games", "3", "--epochs", "2");
    const metrics = JSON.parse(await readFile(path.join(out, PROBE_METRICS_FILE), "utf8")) as ProbeMetricsRecord;
    const test = await readDatasetDirectory(chessSplitGames, ["test"]);
    const recon = evaluationSets(test, "test", { labelGames: 2, reconGames: 3 }).recon;
    const truth = scoredPositions(recon, [chessPieceMasked], { nCtx: 64 }).truth.get("piece_masked")!;
    expect(metrics).toMatchObject({ game: "chess", function: "piece", board_function: "piece_masked", train: { games: 6 }, eval: { games: 3, positions: truth.length / 832 } });
    const hook = metrics.hooks["blocks.0.hook_resid_post"];
    expect(hook.tp + hook.fn).toBe(truth.reduce((sum, v) => sum + v, 0));
    expect((await readLinearProbes(path.join(out, PROBE_WEIGHTS_FILE))).get("blocks.0.hook_resid_post")!.weight).toHaveLength(16 * 832);
  });

  it("refuses an unknown hook, a chess dataset for an Othello model, and an unknown split", async () => {
    const out = path.join(root, "refused");
    await expect(probe("--model", checkpoint, "--games", games, "--out", out, "--hooks", "blocks.3.hook_resid_post")).rejects.toThrow(
      /unknown hook "blocks\.3\.hook_resid_post"; valid hook names: hook_embed, .*blocks\.0\.hook_resid_post/,
    );
    await expect(probe("--model", checkpoint, "--games", chessGames, "--out", out)).rejects.toThrow(
      `${chessGames} holds chess games but the model tiny-othello plays othello`,
    );
    await expect(probe("--model", checkpoint, "--games", games, "--out", out, "--train-split", "dev")).rejects.toThrow(/--train-split: expected one of train, val, test, found "dev"/);
  });
});
