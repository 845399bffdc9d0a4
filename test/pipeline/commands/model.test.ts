// `saec model …`: init, info, export → import round trip, train (and its refusal to overwrite), eval.

import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeDatasetDirectory } from "../../../boards/dataset-directory.js";
import { initTfjs } from "../../../compute/tfjs.js";
import { loadGpt, MODEL_WEIGHTS_FILE } from "../../../model/checkpoint.js";
import { disposeGpt, forward } from "../../../model/gpt.js";
import { addModelCommands } from "../../../pipeline/commands/model.js";
import { tinyGames } from "../../model/train-fixtures.js";
import { runCommand } from "./run-command.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "saec-model-cmd-"));
});
afterAll(() => rm(root, { recursive: true, force: true }));

const model = async (...args: string[]) => (await runCommand("model", addModelCommands, args)).stdout;

describe("saec model", () => {
  it("writes a random-init checkpoint, describes it, and round-trips it through every foreign layout", async () => {
    const init = path.join(root, "init");
    expect(await model("init", "--preset", "othello-2l-64", "--seed", "9", "--out", init)).toContain("random init");
    await expect(model("init", "--preset", "othello-2l-64", "--out", init)).rejects.toThrow("already exists");
    const info = await model("info", init);
    expect(info).toContain("111,741 parameters");
    expect(info).toMatch(/blocks\.1\.attn\.hook_pattern\s+\[B, 4, T, T\]/);
    expect(info).toMatch(/blocks\.0\.hook_resid_post\s+\[B, T, 64\]/);
    const { tf } = await initTfjs();
    const original = await loadGpt(tf, init);
    const tokens = tf.tensor2d([[20, 21, 30, 5, 0, 0]], [1, 6], "int32");
    const expected = tf.tidy(() => forward(original, tokens).dataSync());
    for (const scheme of ["nanogpt", "hf-gpt2", "mingpt", "transformer-lens"]) {
      if (scheme === "nanogpt") continue; // nanoGPT ties lm_head to wte; this model is untied (export refuses it)
      const file = path.join(root, `${scheme}.safetensors`);
      expect(await model("export", init, "--to", scheme, "--out", file)).toContain(`${scheme} layout`);
      const back = path.join(root, `back-${scheme}`);
      const configArgs = scheme === "mingpt" ? ["--n-heads", "4"] : ["--config", path.join(root, `${scheme}.config.json`)];
      expect(await model("import", file, "--from", scheme, "--out", back, ...configArgs)).toContain("111,741 parameters");
      const imported = await loadGpt(tf, back);
      const logits = tf.tidy(() => forward(imported, tokens).dataSync());
      let worst = 0;
      for (let i = 0; i < logits.length; i++) worst = Math.max(worst, Math.abs(logits[i] - expected[i]));
      expect(worst, scheme).toBeLessThan(1e-5);
      expect(imported.config.source?.importer).toBe(scheme);
      disposeGpt(imported);
    }
    await expect(model("export", init, "--to", "nanogpt", "--out", path.join(root, "n.safetensors"))).rejects.toThrow(/tied|untied/);
    tokens.dispose();
    disposeGpt(original);
  });

  it("trains on a dataset directory, refuses to overwrite a trained model, and evaluates it", async () => {
    const games = path.join(root, "games");
    await writeDatasetDirectory(games, "othello", await tinyGames(400), {});
    const out = path.join(root, "run");
    const settings = ["--set", "trainTokens=8260", "--set", "evalEvery=2", "--set", "evalGames=4"];
    const text = await model("train", "--games", games, "--out", out, "--preset", "othello-2l-64", ...settings);
    expect(text).toMatch(/model: 4 steps in .* min, val loss \d\.\d{4}, top-1 legal \d+\.\d\d% \(4 games/);
    await expect(model("train", "--games", games, "--out", out, "--preset", "othello-2l-64", ...settings)).rejects.toThrow("already exists");
    const evaluated = JSON.parse(await model("eval", path.join(out, "model"), "--games", games, "--count", "4", "--json"));
    expect(evaluated.games).toBe(4);
    expect(evaluated.legalRate).toBeGreaterThanOrEqual(0);
    expect((await readFile(path.join(out, "model", MODEL_WEIGHTS_FILE))).length).toBeGreaterThan(400_000);
  });
});
