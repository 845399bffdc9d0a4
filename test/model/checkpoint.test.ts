// Checkpoint directories (spec model.md §5.1): byte-stable save, exact load, and errors that name the file,
// the tensor and both shapes.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type * as tfTypes from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initTfjs } from "../../compute/tfjs.js";
import { CheckpointError, configText, loadGpt, MODEL_CONFIG_FILE, MODEL_WEIGHTS_FILE, saveGpt } from "../../model/checkpoint.js";
import { presetConfig } from "../../model/config.js";
import { createGpt, disposeGpt, forward } from "../../model/gpt.js";
import { readSafetensors, writeSafetensors } from "../../model/safetensors.js";
import { tinyTrainConfig } from "./train-fixtures.js";

let tf: typeof tfTypes;
let root: string;
beforeAll(async () => {
  tf = (await initTfjs()).tf;
  root = await mkdtemp(path.join(os.tmpdir(), "saec-ckpt-"));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe("checkpoint directories", () => {
  it("round-trips weights and config exactly, with the spec's metadata, and writes the same bytes twice", async () => {
    const model = createGpt(tf, tinyTrainConfig(21));
    const dir = path.join(root, "a");
    await saveGpt(model, dir);
    await saveGpt(model, path.join(root, "b"));
    const bytes = await readFile(path.join(dir, MODEL_WEIGHTS_FILE));
    expect(bytes.equals(await readFile(path.join(root, "b", MODEL_WEIGHTS_FILE)))).toBe(true);
    const file = await readSafetensors(path.join(dir, MODEL_WEIGHTS_FILE));
    expect(file.metadata.format).toBe("pt");
    expect(file.metadata.producer).toBe("sae-circuits");
    const { createHash } = await import("node:crypto");
    expect(file.metadata.config_sha256).toBe(createHash("sha256").update(await readFile(path.join(dir, MODEL_CONFIG_FILE))).digest("hex"));
    const loaded = await loadGpt(tf, dir);
    expect(loaded.config).toEqual(model.config);
    const tokens = tf.tensor2d([[1, 20, 33, 7, 0]], [1, 5], "int32");
    const [a, b] = tf.tidy(() => [forward(model, tokens).dataSync(), forward(loaded, tokens).dataSync()]);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    tokens.dispose();
    disposeGpt(model);
    disposeGpt(loaded);
  });

  it("omits W_U for tied models and stores every tensor as F32 with the TransformerLens names", async () => {
    const model = createGpt(tf, presetConfig("othello-2l-64", 1, { tied_embeddings: true }));
    const dir = path.join(root, "tied");
    await saveGpt(model, dir);
    const { tensors } = await readSafetensors(path.join(dir, MODEL_WEIGHTS_FILE));
    expect(tensors.has("unembed.W_U")).toBe(false);
    expect(tensors.get("blocks.1.attn.W_Q")).toMatchObject({ dtype: "F32", shape: [4, 64, 16] });
    expect(tensors.get("pos_embed.W_pos")).toMatchObject({ dtype: "F32", shape: [59, 64] });
    disposeGpt(model);
  });

  async function brokenCopy(name: string, edit: (tensors: Map<string, { dtype: "F32"; shape: number[]; data: Float32Array }>) => void) {
    const model = createGpt(tf, tinyTrainConfig(22));
    const dir = path.join(root, name);
    await saveGpt(model, dir);
    disposeGpt(model);
    const file = path.join(dir, MODEL_WEIGHTS_FILE);
    const tensors = (await readSafetensors(file)).tensors as Map<string, { dtype: "F32"; shape: number[]; data: Float32Array }>;
    edit(tensors);
    await writeSafetensors(file, tensors);
    return { dir, file };
  }

  it("names the file and tensor of a missing, extra or mis-shaped tensor (with both shapes)", async () => {
    const missing = await brokenCopy("missing", (t) => t.delete("blocks.0.mlp.W_in"));
    await expect(loadGpt(tf, missing.dir)).rejects.toThrow(`${missing.file}: tensor "blocks.0.mlp.W_in": missing (expected shape [16, 32])`);
    const extra = await brokenCopy("extra", (t) => t.set("blocks.7.mlp.W_in", { dtype: "F32", shape: [1], data: new Float32Array(1) }));
    await expect(loadGpt(tf, extra.dir)).rejects.toThrow(/tensor "blocks.7.mlp.W_in": not a parameter of this model/);
    const shaped = await brokenCopy("shaped", (t) => t.set("embed.W_E", { dtype: "F32", shape: [16, 61], data: new Float32Array(16 * 61) }));
    await expect(loadGpt(tf, shaped.dir)).rejects.toThrow(CheckpointError);
    await expect(loadGpt(tf, shaped.dir)).rejects.toThrow(`tensor "embed.W_E": shape [16, 61] in the checkpoint, [61, 16] in the config`);
  });

  it("refuses non-zero biases in a use_bias: false model, and names config.json fields", async () => {
    const model = createGpt(tf, tinyTrainConfig(23));
    const dir = path.join(root, "nobias");
    await saveGpt(model, dir);
    disposeGpt(model);
    const config = JSON.parse(await readFile(path.join(dir, MODEL_CONFIG_FILE), "utf8"));
    const file = path.join(dir, MODEL_WEIGHTS_FILE);
    const tensors = (await readSafetensors(file)).tensors;
    (tensors.get("blocks.0.attn.b_O")!.data as Float32Array)[3] = 0.5;
    await writeSafetensors(file, tensors);
    await writeFile(path.join(dir, MODEL_CONFIG_FILE), configText({ ...config, use_bias: false }));
    await expect(loadGpt(tf, dir)).rejects.toThrow(/tensor "blocks.0.attn.b_O": is non-zero but the config says use_bias: false/);
    await writeFile(path.join(dir, MODEL_CONFIG_FILE), JSON.stringify({ ...config, d_model: 17 }));
    await expect(loadGpt(tf, dir)).rejects.toThrow(new RegExp(`${MODEL_CONFIG_FILE}: d_model: must equal n_heads·d_head`));
  });
});
