// The GPT forward pass (spec model.md §1) held against a plain per-head recomputation written here with tf ops,
// plus hooks, causality, gradients against finite differences, tensor hygiene, init statistics and presets.

import type * as tfTypes from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initTfjs } from "../../compute/tfjs.js";
import {
  GPT_PRESETS, GptConfigError, parameterCount, parseGptConfig, presetConfig, type GptConfig, type GptConfigInput,
} from "../../model/config.js";
import { createGpt, forward, hookNames, runWithCache, UnknownHookError, type Gpt } from "../../model/gpt.js";
import { parameterSpecs } from "../../model/init.js";
import { randomArray, seededRandom } from "../compute/random.js";

let tf: typeof tfTypes;
beforeAll(async () => {
  tf = (await initTfjs()).tf;
});

const [B, T] = [3, 7];

function tinyConfig(overrides: Partial<GptConfigInput> = {}): GptConfig {
  return parseGptConfig({
    format: "sae-circuits.gpt", format_version: 1, model_name: "tiny", game: "othello", tokenizer: "othello-61",
    n_layers: 2, d_model: 16, n_heads: 2, d_head: 8, d_mlp: 32, d_vocab: 11, n_ctx: 7, pad_token_id: 0, seed: 7,
    ...overrides,
  });
}

/** A tiny model whose every parameter (biases, LN included) is random and O(1), so no path is negligible. */
function tinyModel(overrides: Partial<GptConfigInput> = {}): Gpt {
  const model = createGpt(tf, tinyConfig(overrides));
  let seed = 100;
  for (const [name, variable] of model.params) {
    const values = randomArray(variable.size, seed++, 0.5);
    if (/ln.*\.w$/.test(name)) values.forEach((v, i) => (values[i] = 1 + v));
    variable.assign(tf.tensor(values, variable.shape));
  }
  return model;
}

function randomTokens(seed: number, vocab = 11): tfTypes.Tensor2D {
  const next = seededRandom(seed);
  return tf.tensor2d(Array.from({ length: B * T }, () => Math.floor(next() * vocab)), [B, T], "int32");
}

/** The spec §1 forward written per batch row and per head with 2-D tf ops; returns the named activations. */
function referenceForward(model: Gpt, tokens: tfTypes.Tensor2D, replaceMlpOut1?: boolean): Record<string, tfTypes.Tensor> {
  const { config } = model;
  const p = (name: string) => model.params.get(name)! as tfTypes.Tensor;
  const ids = tokens.arraySync();
  const out: Record<string, tfTypes.Tensor[]> = {};
  const put = (name: string, t: tfTypes.Tensor) => (out[name] ??= []).push(t);
  const layerNorm = (x: tfTypes.Tensor2D, prefix: string) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return x.sub(mean).div(variance.add(config.eps).sqrt()).mul(p(`${prefix}.w`)).add(p(`${prefix}.b`)) as tfTypes.Tensor2D;
  };
  const causal = tf.linalg.bandPart(tf.ones([T, T]), -1, 0).cast("bool");
  for (const row of ids) {
    let x = tf.gather(p("embed.W_E"), row).add(p("pos_embed.W_pos").slice([0, 0], [T, -1])) as tfTypes.Tensor2D;
    for (let l = 0; l < config.n_layers; l++) {
      const b = `blocks.${l}`;
      put(`${b}.hook_resid_pre`, x);
      const n1 = layerNorm(x, `${b}.ln1`);
      let attnOut = p(`${b}.attn.b_O`) as tfTypes.Tensor2D;
      const patterns: tfTypes.Tensor[] = [];
      for (let h = 0; h < config.n_heads; h++) {
        const head = (w: string, bias: string) =>
          tf.matMul(n1, p(`${b}.attn.${w}`).gather(h) as tfTypes.Tensor2D).add(p(`${b}.attn.${bias}`).gather(h)) as tfTypes.Tensor2D;
        const [q, k, v] = [head("W_Q", "b_Q"), head("W_K", "b_K"), head("W_V", "b_V")];
        const scores = tf.matMul(q, k.transpose()).div(Math.sqrt(config.d_head));
        const pattern = tf.softmax(tf.where(causal, scores, tf.fill([T, T], -Infinity))) as tfTypes.Tensor2D;
        patterns.push(pattern);
        attnOut = attnOut.add(tf.matMul(tf.matMul(pattern, v), p(`${b}.attn.W_O`).gather(h) as tfTypes.Tensor2D));
      }
      put(`${b}.attn.hook_pattern`, tf.stack(patterns));
      const mid = x.add(attnOut) as tfTypes.Tensor2D;
      put(`${b}.hook_resid_mid`, mid);
      const pre = tf.matMul(layerNorm(mid, `${b}.ln2`), p(`${b}.mlp.W_in`) as tfTypes.Tensor2D).add(p(`${b}.mlp.b_in`));
      const post = config.act_fn === "gelu"
        ? pre.mul(0.5).mul(tf.erf(pre.div(Math.SQRT2)).add(1))
        : pre.mul(0.5).mul(tf.tanh(pre.add(pre.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI))).add(1));
      const mlpOut = tf.matMul(post as tfTypes.Tensor2D, p(`${b}.mlp.W_out`) as tfTypes.Tensor2D).add(p(`${b}.mlp.b_out`));
      x = (replaceMlpOut1 && l === 1 ? mid : mid.add(mlpOut)) as tfTypes.Tensor2D;
      put(`${b}.hook_resid_post`, x);
    }
    const unembed = config.tied_embeddings ? p("embed.W_E").transpose() : p("unembed.W_U");
    put("logits", tf.matMul(layerNorm(x, "ln_final"), unembed as tfTypes.Tensor2D).add(p("unembed.b_U")));
  }
  return Object.fromEntries(Object.entries(out).map(([name, rows]) => [name, tf.stack(rows)]));
}

function expectClose(actual: tfTypes.Tensor, expected: tfTypes.Tensor, tolerance: number, what: string): void {
  expect(actual.shape, what).toEqual(expected.shape);
  const worst = tf.tidy(() => actual.sub(expected).abs().max().dataSync()[0]);
  expect(worst, what).toBeLessThan(tolerance);
}

describe("config and presets", () => {
  it("counts the parameters of every preset as spec §3 lists them", () => {
    const expected: Record<string, number> = {
      "othello-8l-512": 25_312_829, "chess-8l-512": 25_760_288, "othello-4l-128": 816_573,
      "chess-4l-128": 834_336, "othello-2l-64": 111_741, "chess-2l-64": 120_608,
    };
    for (const name of Object.keys(GPT_PRESETS) as (keyof typeof GPT_PRESETS)[]) {
      const config = presetConfig(name, 1);
      const tensorSizes = parameterSpecs(config).reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1), 0);
      expect([parameterCount(config), tensorSizes], name).toEqual([expected[name], expected[name]]);
    }
  });

  it("rejects bad configs naming the file and field", () => {
    expect(() => tinyConfig({ d_model: 17 })).toThrow(/d_model.*n_heads·d_head/);
    expect(() => parseGptConfig({ ...tinyConfig(), extra: 1 }, "runs/x/config.json")).toThrow(GptConfigError);
    expect(() => parseGptConfig({ ...tinyConfig(), act_fn: "relu" }, "runs/x/config.json")).toThrow(/runs\/x\/config.json: act_fn.*"relu"/);
    expect(() => parseGptConfig({ ...tinyConfig(), format_version: 2 })).toThrow(/format_version/);
  });
});

describe("forward", () => {
  it("fires every hook of spec §1 once, in order, with the spec's shapes", () => {
    const model = tinyModel();
    const seen: [string, number[]][] = [];
    tf.tidy(() => forward(model, randomTokens(1), (name, x) => void seen.push([name, x.shape])));
    expect(seen.map(([name]) => name)).toEqual(hookNames(model.config));
    const [d, H, dh, dm] = [16, 2, 8, 32];
    const expectedShape = (name: string): number[] => {
      if (name.endsWith("hook_scale")) return [B, T, 1];
      if (/hook_[qkvz]$/.test(name)) return [B, T, H, dh];
      if (/hook_(attn_scores|pattern)$/.test(name)) return [B, H, T, T];
      if (/mlp\.hook_(pre|post)$/.test(name)) return [B, T, dm];
      return [B, T, d];
    };
    for (const [name, shape] of seen) expect(shape, name).toEqual(expectedShape(name));
    for (const required of ["hook_embed", "blocks.1.attn.hook_z", "blocks.0.mlp.hook_post", "ln_final.hook_normalized"]) {
      expect(seen.some(([name]) => name === required), required).toBe(true);
    }
  });

  for (const variant of [{}, { tied_embeddings: true, act_fn: "gelu_new" }] as Partial<GptConfigInput>[]) {
    it(`matches a per-head recomputation from the parameters ${JSON.stringify(variant)}`, () => {
      const model = tinyModel(variant);
      const tokens = randomTokens(2);
      const names = ["blocks.0.hook_resid_pre", "blocks.1.hook_resid_mid", "blocks.1.hook_resid_post", "blocks.0.hook_resid_post", "blocks.1.attn.hook_pattern"];
      const { logits, cache } = runWithCache(model, tokens, names);
      tf.tidy(() => {
        const reference = referenceForward(model, tokens);
        for (const name of names) expectClose(cache.get(name)!, reference[name], 2e-5, name);
        expectClose(logits, reference.logits, 5e-5, "logits");
        // masked attention probabilities are exactly zero, and rows sum to 1
        const pattern = cache.get("blocks.1.attn.hook_pattern")!.arraySync() as number[][][][];
        expect(pattern[1][0][2][3]).toBe(0);
        expect(pattern[2][1][6].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
      });
      tf.dispose([logits, ...cache.values()]);
    });
  }

  it("is causal: changing token t never changes logits before t", () => {
    const model = tinyModel();
    const tokens = randomTokens(3);
    const ids = tokens.arraySync();
    const t = 4;
    ids[0][t] = (ids[0][t] + 5) % 11;
    const before = tf.tidy(() => forward(model, tokens).arraySync());
    const after = tf.tidy(() => forward(model, tf.tensor2d(ids, [B, T], "int32")).arraySync());
    for (let i = 0; i < T; i++) {
      if (i < t) expect(after[0][i], `position ${i}`).toEqual(before[0][i]);
      else expect(after[0][i], `position ${i}`).not.toEqual(before[0][i]);
    }
    expect(after[1]).toEqual(before[1]); // other rows untouched
  });

  it("a replaced hook value flows downstream exactly as computed by hand; identity replacement changes no bit", () => {
    const model = tinyModel();
    const tokens = randomTokens(4);
    const plain = tf.tidy(() => forward(model, tokens).dataSync());
    const identity = tf.tidy(() => forward(model, tokens, (_name, x) => x.clone()).dataSync());
    expect(identity).toEqual(plain);
    const zeroMlp = (name: string, x: tfTypes.Tensor) => (name === "blocks.1.hook_mlp_out" ? tf.zerosLike(x) : undefined);
    const { logits, cache } = runWithCache(model, tokens, ["blocks.1.hook_mlp_out", "blocks.1.hook_resid_post"], zeroMlp);
    expect(cache.get("blocks.1.hook_mlp_out")!.abs().max().dataSync()[0]).toBe(0); // the cache holds the replacement
    tf.tidy(() => {
      const reference = referenceForward(model, tokens, true);
      expectClose(cache.get("blocks.1.hook_resid_post")!, reference["blocks.1.hook_resid_post"], 2e-5, "resid_post");
      expectClose(logits, reference.logits, 5e-5, "logits");
    });
    tf.dispose([logits, ...cache.values()]);
    expect(() => forward(model, tokens, (name, x) => (name === "hook_embed" ? x.slice([0], [1]) : undefined))).toThrow(/hook_embed.*shape/);
  });

  it("the gradient of a scalar w.r.t. a hook activation equals central finite differences", () => {
    const model = tinyModel();
    const tokens = randomTokens(5);
    const site = "blocks.0.hook_resid_mid";
    const metricWeights = tf.tensor(randomArray(B * T * 11, 9), [B, T, 11]);
    const metric = (delta: tfTypes.Tensor) =>
      forward(model, tokens, (name, x) => (name === site ? x.add(delta) : undefined)).mul(metricWeights).sum();
    const zero = tf.zeros([B, T, 16]);
    const gradient = tf.tidy(() => tf.grad(metric)(zero).arraySync() as number[][][]);
    const epsilon = 1e-2;
    const valueAt = (b: number, t: number, i: number, step: number) =>
      tf.tidy(() => metric(tf.buffer([B, T, 16], "float32").toTensor().add(tf.oneHot(b * T * 16 + t * 16 + i, B * T * 16).reshape([B, T, 16]).mul(step))).dataSync()[0]);
    const next = seededRandom(11);
    for (let trial = 0; trial < 8; trial++) {
      const [b, t, i] = [Math.floor(next() * B), Math.floor(next() * T), Math.floor(next() * 16)];
      const finiteDifference = (valueAt(b, t, i, epsilon) - valueAt(b, t, i, -epsilon)) / (2 * epsilon);
      expect(Math.abs(gradient[b][t][i] - finiteDifference), `[${b},${t},${i}]`).toBeLessThan(5e-3 + 2e-2 * Math.abs(finiteDifference));
    }
    tf.dispose([metricWeights, zero]);
  });

  it("leaks no tensors", () => {
    const model = tinyModel();
    const tokens = randomTokens(6);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      forward(model, tokens); // logits not returned: tidy disposes them with every intermediate
    });
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(tf.tidy(() => forward(model, tokens)));
    expect(tf.memory().numTensors).toBe(before);
    const { logits, cache } = runWithCache(model, tokens, ["hook_embed", "blocks.1.attn.hook_q"]);
    expect(tf.memory().numTensors).toBe(before + 3);
    tf.dispose([logits, ...cache.values()]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("rejects unknown hook names and out-of-range tokens", () => {
    const model = tinyModel();
    expect(() => runWithCache(model, randomTokens(7), ["blocks.2.hook_resid_post"])).toThrow(UnknownHookError);
    expect(() => runWithCache(model, randomTokens(7), ["blocks.2.hook_resid_post"])).toThrow(/valid hook names: hook_embed/);
    expect(() => tf.tidy(() => forward(model, randomTokens(7, 12)))).toThrow(/outside \[0, d_vocab = 11\)/);
    expect(() => tf.tidy(() => forward(model, tf.zeros([1, 8], "int32") as tfTypes.Tensor2D))).toThrow(/n_ctx = 7/);
  });
});

describe("init (spec §4)", () => {
  it("draws nanoGPT's statistics, deterministically in the seed", () => {
    const config = presetConfig("othello-2l-64", 3);
    const model = createGpt(tf, config);
    const std = (name: string) => tf.tidy(() => tf.moments(model.params.get(name)!.flatten()).variance.sqrt().dataSync()[0]);
    const values = (m: Gpt, name: string) => m.params.get(name)!.dataSync();
    expect(std("embed.W_E")).toBeCloseTo(0.02, 3);
    expect(std("blocks.1.attn.W_Q")).toBeCloseTo(0.02, 3);
    expect(std("blocks.0.mlp.W_out") / (0.02 / Math.sqrt(4))).toBeCloseTo(1, 1);
    expect(std("blocks.1.attn.W_O") / (0.02 / Math.sqrt(4))).toBeCloseTo(1, 1);
    expect(Array.from(values(model, "blocks.0.ln1.w")).every((v) => v === 1)).toBe(true);
    expect(Array.from(values(model, "blocks.0.attn.b_Q")).every((v) => v === 0)).toBe(true);
    const same = createGpt(tf, config);
    const other = createGpt(tf, presetConfig("othello-2l-64", 4));
    expect(values(same, "embed.W_E")).toEqual(values(model, "embed.W_E"));
    expect(values(other, "embed.W_E")).not.toEqual(values(model, "embed.W_E"));
    expect(values(model, "unembed.W_U")).not.toEqual(values(model, "embed.W_E")); // independent streams
  });
});
