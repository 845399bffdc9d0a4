// SAELens-compatible directories (spec sae.md §4; sae/files.ts): cfg.json with exactly the spec's fields and values,
// F32 weights under SAELens names and shapes for every architecture, log10 sparsity, save → load → identical
// tensors and identical encode/decode, and errors that name the file, the tensor and both shapes.

import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { referenceKernels } from "../../compute/reference.js";
import { readSafetensors, writeSafetensors } from "../../model/safetensors.js";
import {
  logFeatureDensity, readSaeDirectory, SAE_CFG_FILE, SAE_METRICS_FILE, SAE_SPARSITY_FILE, SAE_TRAINING_FILE, SAE_WEIGHTS_FILE,
  SaeFileError, writeSaeDirectory, type SavedSae, type SaeSite,
} from "../../sae/files.js";
import { ARCHITECTURES, createSae, paramShapes, type Architecture, type SaeParams, type SaeSpec } from "../../sae/params.js";
import { temporaryDirs } from "../temporary-dir.js";
import { uniformArray } from "./reference.js";

const dIn = 6;
const dSae = 10;
const site: SaeSite = { modelName: "othello-8l-512", hookName: "blocks.5.hook_resid_post", contextSize: 59, datasetPath: "abc123:train" };

const freshDir = temporaryDirs("sae-files-");

/** Seeded parameters of an architecture; thresholds positive (a JumpReLU θ), r_mag small. */
function randomParams(architecture: Architecture, seed: number): SaeParams {
  const params: Record<string, Float32Array> = {};
  for (const [name, shape] of paramShapes(architecture, { dIn, dSae })) {
    const size = shape.reduce((a, b) => a * b, 1);
    params[name] = uniformArray(size, seed++, name === "threshold" ? 0.2 : 0.5);
    if (name === "threshold") params[name].forEach((value, i) => (params[name][i] = Math.abs(value)));
  }
  return params as unknown as SaeParams;
}

const specs: Record<Architecture, SaeSpec> = {
  standard: { architecture: "standard", dIn, dSae, applyBDecToInput: true },
  gated: { architecture: "gated", dIn, dSae, applyBDecToInput: true },
  topk: { architecture: "topk", dIn, dSae, applyBDecToInput: true, k: 3, topkThreshold: 0.125 },
  jumprelu: { architecture: "jumprelu", dIn, dSae, applyBDecToInput: false },
};
const trainers: Record<Architecture, string> = { standard: "p_anneal", gated: "gated_anneal", topk: "topk", jumprelu: "jumprelu" };

const commonMetadata = {
  sae_lens_version: "6.0.0", sae_lens_training_version: null, model_name: "othello-8l-512", model_class_name: "HookedTransformer",
  hook_name: "blocks.5.hook_resid_post", hook_head_index: null, context_size: 59, prepend_bos: false, seqpos_slice: [null],
  dataset_path: "abc123:train", model_from_pretrained_kwargs: {}, exclude_special_tokens: false, sequence_separator_token: null,
  disable_concat_sequences: true,
};

describe("cfg.json", () => {
  it("holds exactly the spec §4 fields, in SAELens order, with metadata.sae_lens_version 6.0.0", async () => {
    const dir = await freshDir();
    await writeSaeDirectory(dir, { spec: specs.standard, params: randomParams("standard", 3), trainer: "p_anneal", site });
    const text = await readFile(path.join(dir, SAE_CFG_FILE), "utf8");
    const cfg = JSON.parse(text);
    expect(cfg).toEqual({
      architecture: "standard", d_in: dIn, d_sae: dSae, dtype: "float32", device: "cpu", apply_b_dec_to_input: true,
      normalize_activations: "none", reshape_activations: "none",
      metadata: { ...commonMetadata, sae_circuits: { trainer: "p_anneal", training: "training.json" } },
    });
    expect(Object.keys(cfg)).toEqual(["architecture", "d_in", "d_sae", "dtype", "device", "apply_b_dec_to_input", "normalize_activations", "reshape_activations", "metadata"]);
    expect(Object.keys(cfg.metadata)).toEqual([...Object.keys(commonMetadata), "sae_circuits"]);
  });

  it("topk adds k and rescale_acts_by_decoder_norm: false, θ as metadata.topk_threshold; BatchTopK-as-JumpReLU records k", async () => {
    const topkDir = await freshDir();
    await writeSaeDirectory(topkDir, { spec: specs.topk, params: randomParams("topk", 3), trainer: "topk", site });
    const topk = JSON.parse(await readFile(path.join(topkDir, SAE_CFG_FILE), "utf8"));
    expect(topk).toMatchObject({ architecture: "topk", k: 3, rescale_acts_by_decoder_norm: false, apply_b_dec_to_input: true, metadata: { topk_threshold: 0.125 } });
    expect(Object.keys(topk).slice(7, 10)).toEqual(["reshape_activations", "k", "rescale_acts_by_decoder_norm"]);

    // θ = −1 (never updated) is not written, and reads back as no threshold
    const unsetDir = await freshDir();
    await writeSaeDirectory(unsetDir, { spec: { ...specs.topk, topkThreshold: -1 }, params: randomParams("topk", 3), trainer: "topk", site });
    expect(JSON.parse(await readFile(path.join(unsetDir, SAE_CFG_FILE), "utf8")).metadata).not.toHaveProperty("topk_threshold");
    expect((await readSaeDirectory(unsetDir)).spec).not.toHaveProperty("topkThreshold");

    const batchDir = await freshDir();
    const spec: SaeSpec = { architecture: "jumprelu", dIn, dSae, applyBDecToInput: true, k: 7 };
    const params = { ...randomParams("jumprelu", 4), threshold: new Float32Array(dSae).fill(0.25) };
    await writeSaeDirectory(batchDir, { spec, params, trainer: "batch_topk", site });
    const batch = JSON.parse(await readFile(path.join(batchDir, SAE_CFG_FILE), "utf8"));
    expect(batch).toMatchObject({ architecture: "jumprelu", apply_b_dec_to_input: true, metadata: { k: 7, sae_circuits: { trainer: "batch_topk" } } });
    expect(batch).not.toHaveProperty("k");
    expect((await readSaeDirectory(batchDir)).spec).toEqual(spec);
  });

  it("a topk spec without k is refused", async () => {
    await expect(writeSaeDirectory(await freshDir(), { spec: { ...specs.topk, k: undefined } as SaeSpec, params: randomParams("topk", 1), trainer: "topk", site })).rejects.toThrow(/topk SAE needs a positive integer k/);
  });
});

describe("save → load", () => {
  for (const architecture of ARCHITECTURES) {
    it(`${architecture}: every tensor F32 under its SAELens name and shape, read back bit-identical with spec, site and trainer`, async () => {
      const dir = await freshDir();
      const params = randomParams(architecture, 10);
      await writeSaeDirectory(dir, { spec: specs[architecture], params, trainer: trainers[architecture], site });
      const file = await readSafetensors(path.join(dir, SAE_WEIGHTS_FILE));
      const expected = paramShapes(architecture, { dIn, dSae });
      expect([...file.tensors.keys()].sort()).toEqual(expected.map(([name]) => name).sort());
      for (const [name, shape] of expected) {
        const tensor = file.tensors.get(name)!;
        expect(tensor.dtype).toBe("F32");
        expect(tensor.shape).toEqual(shape);
        expect(tensor.data).toEqual((params as unknown as Record<string, Float32Array>)[name]);
      }
      const loaded = await readSaeDirectory(dir);
      expect(loaded.spec).toEqual(specs[architecture]);
      expect(loaded.params).toEqual(params);
      expect(loaded.site).toEqual(site);
      expect(loaded.trainer).toBe(trainers[architecture]);
      expect(loaded.logDensity).toBeNull();
    });

    it(`${architecture}: the loaded SAE encodes and decodes bit-identically`, async () => {
      const dir = await freshDir();
      const params = randomParams(architecture, 20);
      await writeSaeDirectory(dir, { spec: specs[architecture], params, trainer: trainers[architecture], site });
      const loaded = await readSaeDirectory(dir);
      const before = createSae(referenceKernels, specs[architecture], params);
      const after = createSae(referenceKernels, loaded.spec, loaded.params);
      const x = uniformArray(7 * dIn, 99, 2);
      const features = before.encode(x, 7);
      expect(features.some((value) => value !== 0)).toBe(true);
      expect(after.encode(x, 7)).toEqual(features);
      expect(after.decode(features, 7)).toEqual(before.decode(features, 7));
    });
  }

  it("sparsity.safetensors holds log10(density + 1e-10) [d_sae]; metrics.json and training.json are written when given", async () => {
    const dir = await freshDir();
    const density = [0, 0.5, 1, 0.001, 0, 0, 0.25, 0.125, 1e-6, 0.75];
    const logDensity = logFeatureDensity(density);
    expect(logDensity[0]).toBe(-10);
    expect(logDensity[2]).toBe(Math.fround(Math.log10(1 + 1e-10)));
    expect(logDensity[3]).toBeCloseTo(-3, 6);
    await writeSaeDirectory(dir, { spec: specs.standard, params: randomParams("standard", 2), trainer: "standard", site }, { logDensity, metrics: { l0: 3 }, training: { imported: true } });
    const sparsity = await readSafetensors(path.join(dir, SAE_SPARSITY_FILE));
    expect([...sparsity.tensors.keys()]).toEqual(["sparsity"]);
    expect(sparsity.tensors.get("sparsity")).toMatchObject({ dtype: "F32", shape: [dSae] });
    expect((await readSaeDirectory(dir)).logDensity).toEqual(logDensity);
    expect(JSON.parse(await readFile(path.join(dir, SAE_METRICS_FILE), "utf8"))).toEqual({ l0: 3 });
    expect(JSON.parse(await readFile(path.join(dir, SAE_TRAINING_FILE), "utf8"))).toEqual({ imported: true });
  });

  it("reads a pre-6.0 flat cfg (provenance at the top level) and F16 weights, widened", async () => {
    const dir = await freshDir();
    const flat = { architecture: "standard", d_in: 2, d_sae: 3, apply_b_dec_to_input: false, model_name: "m", hook_name: "blocks.0.hook_resid_post", context_size: 8, dataset_path: "d" };
    await writeFile(path.join(dir, SAE_CFG_FILE), JSON.stringify(flat));
    const halfBits = new Map([[0, 0x0000], [1, 0x3c00], [0.5, 0x3800], [-2, 0xc000]]); // IEEE binary16
    const half = (values: number[]) => Uint16Array.from(values, (value) => halfBits.get(value)!);
    await writeSafetensors(path.join(dir, SAE_WEIGHTS_FILE), {
      W_enc: { dtype: "F16", shape: [2, 3], data: half([1, 0, 0.5, 0, 1, -2]) },
      b_enc: { dtype: "F16", shape: [3], data: half([0, 0, 0]) },
      W_dec: { dtype: "F16", shape: [3, 2], data: half([1, 0, 0, 1, 0.5, 0.5]) },
      b_dec: { dtype: "F16", shape: [2], data: half([0.5, 0]) },
    });
    const loaded = await readSaeDirectory(dir);
    expect(loaded.spec).toEqual({ architecture: "standard", dIn: 2, dSae: 3, applyBDecToInput: false });
    expect(loaded.site).toEqual({ modelName: "m", hookName: "blocks.0.hook_resid_post", contextSize: 8, datasetPath: "d" });
    expect(loaded.trainer).toBe("standard");
    expect(loaded.params.W_enc).toEqual(Float32Array.from([1, 0, 0.5, 0, 1, -2]));
  });
});

describe("bad directories", () => {
  async function savedDir(architecture: Architecture = "standard"): Promise<string> {
    const dir = await freshDir();
    await writeSaeDirectory(dir, { spec: specs[architecture], params: randomParams(architecture, 5), trainer: trainers[architecture], site });
    return dir;
  }
  async function replaceWeights(dir: string, change: (tensors: Record<string, { dtype: "F32"; shape: number[]; data: Float32Array }>) => void): Promise<void> {
    const file = await readSafetensors(path.join(dir, SAE_WEIGHTS_FILE));
    const tensors = Object.fromEntries([...file.tensors].map(([name, t]) => [name, { dtype: "F32" as const, shape: t.shape, data: t.data as Float32Array }]));
    change(tensors);
    await writeSafetensors(path.join(dir, SAE_WEIGHTS_FILE), tensors);
  }

  it("a tensor of the wrong shape names the file, the tensor and both shapes", async () => {
    const dir = await savedDir();
    await replaceWeights(dir, (tensors) => (tensors.W_enc.shape = [dSae, dIn]));
    const error = await readSaeDirectory(dir).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SaeFileError);
    expect((error as Error).message).toBe(`${path.join(dir, SAE_WEIGHTS_FILE)}: tensor W_enc has shape [${dSae}, ${dIn}], expected [${dIn}, ${dSae}] (d_in ${dIn}, d_sae ${dSae} in cfg.json)`);
  });

  it("a missing or a foreign tensor is named", async () => {
    const missing = await savedDir("jumprelu");
    await replaceWeights(missing, (tensors) => delete tensors.threshold);
    await expect(readSaeDirectory(missing)).rejects.toThrow(/sae_weights.safetensors: tensor threshold \[10\] is missing \(architecture jumprelu/);
    const foreign = await savedDir();
    await replaceWeights(foreign, (tensors) => (tensors.b_gate = { dtype: "F32", shape: [dSae], data: new Float32Array(dSae) }));
    await expect(readSaeDirectory(foreign)).rejects.toThrow(/tensor b_gate does not belong to a standard SAE \(expected W_enc, b_enc, W_dec, b_dec\)/);
  });

  it("cfg.json problems name the file and the field", async () => {
    const dir = await savedDir();
    const cfgFile = path.join(dir, SAE_CFG_FILE);
    const cfg = JSON.parse(await readFile(cfgFile, "utf8"));
    await writeFile(cfgFile, JSON.stringify({ ...cfg, normalize_activations: "expected_average_only_in", d_sae: -1 }));
    await expect(readSaeDirectory(dir)).rejects.toThrow(new RegExp(`^${cfgFile.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: d_sae: .*normalize_activations: only "none" is supported`));
    await writeFile(cfgFile, JSON.stringify({ ...cfg, architecture: "topk" }));
    await expect(readSaeDirectory(dir)).rejects.toThrow(/cfg.json: k: a topk SAE needs k/);
    await writeFile(cfgFile, "{");
    await expect(readSaeDirectory(dir)).rejects.toThrow(/cfg.json: is not valid JSON/);
  });

  it("a sparsity tensor of the wrong length names both shapes", async () => {
    const dir = await savedDir();
    await writeSafetensors(path.join(dir, SAE_SPARSITY_FILE), { sparsity: { dtype: "F32", shape: [4], data: new Float32Array(4) } });
    await expect(readSaeDirectory(dir)).rejects.toThrow(/sparsity.safetensors: tensor sparsity has shape \[4\], expected \[d_sae\] = \[10\]/);
    await expect(writeSaeDirectory(dir, { spec: specs.standard, params: randomParams("standard", 1), trainer: "standard", site }, { logDensity: new Float32Array(3) })).rejects.toThrow(/sparsity has 3 values, expected \[d_sae\] = \[10\]/);
  });
});

// Keeps the SavedSae type honest: a read directory can be written back unchanged.
it("a directory read back writes back to the same cfg and weights bytes", async () => {
  const dir = await freshDir();
  await writeSaeDirectory(dir, { spec: specs.topk, params: randomParams("topk", 8), trainer: "topk", site });
  const loaded: SavedSae = await readSaeDirectory(dir);
  const copy = await freshDir();
  await writeSaeDirectory(copy, loaded);
  for (const file of [SAE_CFG_FILE, SAE_WEIGHTS_FILE]) expect(await readFile(path.join(copy, file))).toEqual(await readFile(path.join(dir, file)));
});
