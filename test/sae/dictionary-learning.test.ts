// dictionary_learning import (spec sae.md §4; sae/dictionary-learning.ts): state dicts written here under their
// PyTorch names and shapes, with config.json, read back into SAELens tensors. Each imported SAE's encode/decode is held
// against a float64 loop of dictionary_learning's own forward pass on the original tensors: with non-unit decoder
// rows folded, features come out × ‖decoder row‖ and reconstructions are unchanged.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { referenceKernels } from "../../compute/reference.js";
import { writeSafetensors, type SafetensorsTensor } from "../../model/safetensors.js";
import { importDictionaryLearning } from "../../sae/dictionary-learning.js";
import { readSaeDirectory, SaeFileError, writeSaeDirectory } from "../../sae/files.js";
import { createSae } from "../../sae/params.js";
import { uniformArray } from "./reference.js";

const dIn = 5;
const dSae = 8;
const B = 9;

const directories: string[] = [];
afterAll(async () => {
  for (const dir of directories) await rm(dir, { recursive: true, force: true });
});

/** Writes ae.safetensors + config.json as a dictionary_learning export; returns their paths. */
async function exported(tensors: Record<string, SafetensorsTensor>, trainer: Record<string, unknown>): Promise<{ weights: string; config: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "sae-dl-"));
  directories.push(dir);
  const weights = path.join(dir, "ae.safetensors");
  const config = path.join(dir, "config.json");
  await writeSafetensors(weights, tensors, { format: "pt" });
  await writeFile(config, JSON.stringify({ trainer: { activation_dim: dIn, dict_size: dSae, layer: 5, lm_name: "othello-gpt", ...trainer }, buffer: { ctx_len: 59 } }));
  return { weights, config };
}

const f32 = (shape: number[], data: Float32Array): SafetensorsTensor => ({ dtype: "F32", shape, data });

/** Decoder weight [dIn, dSae] (nn.Linear layout) with column i scaled to norm scales[i]. */
function decoderWeight(seed: number, scales: (i: number) => number): Float32Array {
  const w = uniformArray(dIn * dSae, seed);
  for (let i = 0; i < dSae; i++) {
    const norm = Math.hypot(...Array.from({ length: dIn }, (_, j) => w[j * dSae + i]));
    for (let j = 0; j < dIn; j++) w[j * dSae + i] *= scales(i) / norm;
  }
  return w;
}

/** y = x·Wᵀ (+ bias) for an nn.Linear weight W [out, in], in float64. */
function linear(x: ArrayLike<number>, rows: number, weight: ArrayLike<number>, out: number, inDim: number, bias?: ArrayLike<number>): Float64Array {
  const y = new Float64Array(rows * out);
  for (let b = 0; b < rows; b++) {
    for (let o = 0; o < out; o++) {
      let sum = bias ? bias[o] : 0;
      for (let i = 0; i < inDim; i++) sum += x[b * inDim + i] * weight[o * inDim + i];
      y[b * out + o] = sum;
    }
  }
  return y;
}

const subtract = (x: ArrayLike<number>, v: ArrayLike<number>) => Float64Array.from({ length: x.length }, (_, i) => x[i] - v[i % v.length]);
const columnNorms = (decoder: Float32Array) => Array.from({ length: dSae }, (_, i) => Math.hypot(...Array.from({ length: dIn }, (_, j) => decoder[j * dSae + i])));

/** Our imported SAE against dictionary_learning's f and x̂: f × norms and x̂ unchanged. */
function expectSameSae(imported: Awaited<ReturnType<typeof importDictionaryLearning>>, x: Float32Array, f: Float64Array, xHat: Float64Array, norms: number[]): void {
  const sae = createSae(referenceKernels, imported.spec, imported.params);
  const features = sae.encode(x, B);
  for (let b = 0; b < B; b++) for (let i = 0; i < dSae; i++) expect(features[b * dSae + i]).toBeCloseTo(f[b * dSae + i] * norms[i], 4);
  const reconstruction = sae.decode(features, B);
  for (let k = 0; k < B * dIn; k++) expect(reconstruction[k]).toBeCloseTo(xHat[k], 4);
  expect(features.some((value) => value !== 0)).toBe(true);
  for (let i = 0; i < dSae; i++) expect(Math.hypot(...imported.params.W_dec.subarray(i * dIn, (i + 1) * dIn))).toBeCloseTo(1, 6);
}

describe("importDictionaryLearning", () => {
  const x = uniformArray(B * dIn, 77, 2);

  it("AutoEncoder → standard: transposed weights, `bias` as b_dec, decoder norms folded into W_enc and b_enc", async () => {
    const tensors = { "encoder.weight": uniformArray(dSae * dIn, 1), "encoder.bias": uniformArray(dSae, 2, 0.3), "decoder.weight": decoderWeight(3, (i) => 0.5 + 0.25 * i), bias: uniformArray(dIn, 4, 0.2) };
    const files = await exported(
      { "encoder.weight": f32([dSae, dIn], tensors["encoder.weight"]), "encoder.bias": f32([dSae], tensors["encoder.bias"]), "decoder.weight": f32([dIn, dSae], tensors["decoder.weight"]), bias: f32([dIn], tensors.bias) },
      { dict_class: "AutoEncoder", trainer_class: "PAnnealTrainer" },
    );
    const imported = await importDictionaryLearning(files.weights, files.config);
    expect(imported.spec).toEqual({ architecture: "standard", dIn, dSae, applyBDecToInput: true });
    expect(imported).toMatchObject({ trainer: "p_anneal", dictClass: "AutoEncoder", foldedDecoderNorms: true });
    expect(imported.site).toEqual({ modelName: "othello-gpt", hookName: "blocks.5.hook_resid_post", contextSize: 59, datasetPath: "" });
    expect(imported.params.b_dec).toEqual(tensors.bias);
    // dictionary_learning: f = ReLU(encoder(x − bias)), x̂ = decoder(f) + bias
    const f = linear(subtract(x, tensors.bias), B, tensors["encoder.weight"], dSae, dIn, tensors["encoder.bias"]).map((v) => Math.max(0, v));
    const xHat = subtract(linear(f, B, tensors["decoder.weight"], dIn, dSae), tensors.bias.map((v) => -v));
    expectSameSae(imported, x, f, xHat, columnNorms(tensors["decoder.weight"]));
  });

  it("GatedAutoEncoder → gated: decoder_bias, gate_bias, mag_bias, r_mag; folding scales b_gate and b_mag", async () => {
    const t = {
      "encoder.weight": uniformArray(dSae * dIn, 5), "decoder.weight": decoderWeight(6, (i) => (i % 2 === 0 ? 1 : 2.5)), decoder_bias: uniformArray(dIn, 7, 0.2),
      gate_bias: uniformArray(dSae, 8, 0.3), mag_bias: uniformArray(dSae, 9, 0.3), r_mag: uniformArray(dSae, 10, 0.5),
    };
    const files = await exported(
      {
        "encoder.weight": f32([dSae, dIn], t["encoder.weight"]), "decoder.weight": f32([dIn, dSae], t["decoder.weight"]), decoder_bias: f32([dIn], t.decoder_bias),
        gate_bias: f32([dSae], t.gate_bias), mag_bias: f32([dSae], t.mag_bias), r_mag: f32([dSae], t.r_mag),
      },
      { dict_class: "GatedAutoEncoder", trainer_class: "GatedAnnealTrainer" },
    );
    const imported = await importDictionaryLearning(files.weights, files.config, { hookName: "blocks.2.hook_resid_post", datasetPath: "ds:train" });
    expect(imported).toMatchObject({ spec: { architecture: "gated", applyBDecToInput: true }, trainer: "gated_anneal", foldedDecoderNorms: true, site: { hookName: "blocks.2.hook_resid_post", datasetPath: "ds:train" } });
    expect(imported.params.r_mag).toEqual(t.r_mag);
    const u = linear(subtract(x, t.decoder_bias), B, t["encoder.weight"], dSae, dIn);
    const f = u.map((v, k) => (v + t.gate_bias[k % dSae] > 0 ? Math.max(0, Math.exp(t.r_mag[k % dSae]) * v + t.mag_bias[k % dSae]) : 0));
    const xHat = subtract(linear(f, B, t["decoder.weight"], dIn, dSae), t.decoder_bias.map((v) => -v));
    expectSameSae(imported, x, f, xHat, columnNorms(t["decoder.weight"]));
  });

  it("JumpReluAutoEncoder → jumprelu as stored (W_enc [d_in, d_sae], no b_dec on the input); folding scales θ", async () => {
    const W_dec = uniformArray(dSae * dIn, 11); // [dSae, dIn], rows of norm ≠ 1
    const t = { W_enc: uniformArray(dIn * dSae, 12), b_enc: uniformArray(dSae, 13, 0.3), W_dec, b_dec: uniformArray(dIn, 14, 0.2), threshold: uniformArray(dSae, 15, 0.4).map(Math.abs) };
    const files = await exported(
      { W_enc: f32([dIn, dSae], t.W_enc), b_enc: f32([dSae], t.b_enc), W_dec: f32([dSae, dIn], t.W_dec), b_dec: f32([dIn], t.b_dec), threshold: f32([dSae], t.threshold) },
      { dict_class: "JumpReluAutoEncoder", trainer_class: "JumpReluTrainer" },
    );
    const imported = await importDictionaryLearning(files.weights, files.config);
    expect(imported).toMatchObject({ spec: { architecture: "jumprelu", applyBDecToInput: false }, trainer: "jumprelu", foldedDecoderNorms: true });
    // dictionary_learning: pre = x·W_enc + b_enc, f = ReLU(pre·1[pre > θ]), x̂ = f·W_dec + b_dec
    const wEncT = Float32Array.from({ length: dSae * dIn }, (_, k) => t.W_enc[(k % dIn) * dSae + Math.floor(k / dIn)]);
    const pre = linear(x, B, wEncT, dSae, dIn, t.b_enc);
    const f = pre.map((v, k) => (v > t.threshold[k % dSae] ? Math.max(0, v) : 0));
    const wDecT = Float32Array.from({ length: dIn * dSae }, (_, k) => W_dec[(k % dSae) * dIn + Math.floor(k / dSae)]);
    const xHat = subtract(linear(f, B, wDecT, dIn, dSae), t.b_dec.map((v) => -v));
    const norms = Array.from({ length: dSae }, (_, i) => Math.hypot(...W_dec.subarray(i * dIn, (i + 1) * dIn)));
    expectSameSae(imported, x, f, xHat, norms);
  });

  it("AutoEncoderTopK → topk with k and θ from their scalar buffers; BatchTopKSAE → jumprelu with θ repeated and k", async () => {
    const t = { "encoder.weight": uniformArray(dSae * dIn, 16), "encoder.bias": uniformArray(dSae, 17, 0.3), "decoder.weight": decoderWeight(18, () => 1), b_dec: uniformArray(dIn, 19, 0.2) };
    const state = (k: number, threshold: number) => ({
      "encoder.weight": f32([dSae, dIn], t["encoder.weight"]), "encoder.bias": f32([dSae], t["encoder.bias"]), "decoder.weight": f32([dIn, dSae], t["decoder.weight"]),
      b_dec: f32([dIn], t.b_dec), k: { dtype: "I64" as const, shape: [], data: BigInt64Array.from([BigInt(k)]) }, threshold: f32([], Float32Array.from([threshold])),
    });
    const a = linear(subtract(x, t.b_dec), B, t["encoder.weight"], dSae, dIn, t["encoder.bias"]).map((v) => Math.max(0, v));
    const decode = (f: Float64Array) => subtract(linear(f, B, t["decoder.weight"], dIn, dSae), t.b_dec.map((v) => -v));
    const ones = new Array<number>(dSae).fill(1);

    const topkFiles = await exported(state(3, 0.05), { dict_class: "AutoEncoderTopK", trainer_class: "TopKTrainer" });
    const topk = await importDictionaryLearning(topkFiles.weights, topkFiles.config);
    expect(topk).toMatchObject({ spec: { architecture: "topk", k: 3, topkThreshold: Math.fround(0.05), applyBDecToInput: true }, trainer: "topk", foldedDecoderNorms: false });
    const kept = new Float64Array(B * dSae); // the 3 largest of each row (values distinct here)
    for (let b = 0; b < B; b++) {
      const row = Array.from(a.subarray(b * dSae, (b + 1) * dSae));
      const cut = [...row].sort((p, q) => q - p)[2];
      row.forEach((v, i) => (kept[b * dSae + i] = v >= cut ? v : 0));
    }
    expectSameSae(topk, x, kept, decode(kept), ones);

    const batchFiles = await exported(state(4, 0.3), { dict_class: "BatchTopKSAE", trainer_class: "BatchTopKTrainer" });
    const batch = await importDictionaryLearning(batchFiles.weights, batchFiles.config);
    expect(batch).toMatchObject({ spec: { architecture: "jumprelu", k: 4, applyBDecToInput: true }, trainer: "batch_topk" });
    expect(batch.params.threshold).toEqual(new Float32Array(dSae).fill(0.3));
    const thresholded = a.map((v) => (v > Math.fround(0.3) ? v : 0)); // encode(use_threshold=True)
    expectSameSae(batch, x, thresholded, decode(thresholded), ones);

    // Imported, saved as a SAELens directory and read back: the same SAE.
    const dir = path.dirname(batchFiles.weights);
    await writeSaeDirectory(path.join(dir, "sae"), batch);
    const loaded = await readSaeDirectory(path.join(dir, "sae"));
    expect(loaded.spec).toEqual(batch.spec);
    expect(loaded.params).toEqual(batch.params);
    expect(loaded.trainer).toBe("batch_topk");
  });

  it("refuses a TopK SAE whose decoder rows are not unit-norm (folding would change its selection)", async () => {
    const files = await exported(
      {
        "encoder.weight": f32([dSae, dIn], uniformArray(dSae * dIn, 1)), "encoder.bias": f32([dSae], new Float32Array(dSae)),
        "decoder.weight": f32([dIn, dSae], decoderWeight(2, (i) => (i === 6 ? 2 : 1))), b_dec: f32([dIn], new Float32Array(dIn)),
      },
      { dict_class: "AutoEncoderTopK", k: 2 },
    );
    await expect(importDictionaryLearning(files.weights, files.config)).rejects.toThrow(/decoder row 6 has norm 1\.99999\d*; folding non-unit decoder norms would change a TopK SAE's top-k selection/);
  });

  it("errors name the file, the tensor and both shapes; unknown classes and stray tensors are refused", async () => {
    const good = { "encoder.weight": f32([dSae, dIn], uniformArray(dSae * dIn, 1)), "encoder.bias": f32([dSae], new Float32Array(dSae)), "decoder.weight": f32([dIn, dSae], decoderWeight(2, () => 1)), bias: f32([dIn], new Float32Array(dIn)) };
    const transposed = await exported({ ...good, "encoder.weight": f32([dIn, dSae], uniformArray(dSae * dIn, 1)) }, { dict_class: "AutoEncoder" });
    const error = await importDictionaryLearning(transposed.weights, transposed.config).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SaeFileError);
    expect((error as Error).message).toBe(`${transposed.weights}: tensor encoder.weight has shape [${dIn}, ${dSae}], expected [${dSae}, ${dIn}] (activation_dim ${dIn}, dict_size ${dSae} in ${transposed.config})`);
    const { bias: _bias, ...withoutBias } = good;
    const noBias = await exported(withoutBias, { dict_class: "AutoEncoder" });
    await expect(importDictionaryLearning(noBias.weights, noBias.config)).rejects.toThrow(/tensor bias \[5\] is missing \(dict_class AutoEncoder\)/);
    const stray = await exported({ ...good, extra: f32([1], new Float32Array(1)) }, { dict_class: "AutoEncoder" });
    await expect(importDictionaryLearning(stray.weights, stray.config)).rejects.toThrow(/tensor\(s\) extra do not belong to a AutoEncoder/);
    const unknown = await exported(good, { dict_class: "CrossCoder" });
    await expect(importDictionaryLearning(unknown.weights, unknown.config)).rejects.toThrow(/config.json: trainer.dict_class is "CrossCoder", expected one of AutoEncoder/);
  });
});
