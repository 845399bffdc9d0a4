// Importers of spec model.md §5.3. Each foreign layout is described here independently (its keys and shapes, and
// a float64 forward pass that reads its tensors in their own orientation: fused c_attn as nn.Linear [out, in] for
// nanoGPT, Conv1D [in, out] for HF, separate query/key/value for minGPT). Imported models must reproduce that
// forward's logits, and exportState must write what importState reads back bit for bit.

import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type * as tfTypes from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initTfjs } from "../../compute/tfjs.js";
import { loadGpt, parametersFromTensors, saveGpt } from "../../model/checkpoint.js";
import { parseGptConfig, type GptConfig, type GptConfigInput } from "../../model/config.js";
import { disposeGpt, forward, type Gpt } from "../../model/gpt.js";
import {
  ExportError, exportState, importCheckpoint, ImportError, importState, type ImportOptions, type ImportScheme,
} from "../../model/importers.js";
import { parameterSpecs } from "../../model/init.js";
import { writeSafetensors, type SafetensorsTensor } from "../../model/safetensors.js";
import { randomArray, seededRandom } from "../compute/random.js";

let tf: typeof tfTypes;
let scratch: string;
beforeAll(async () => {
  tf = (await initTfjs()).tf;
  scratch = await mkdtemp(path.join(tmpdir(), "saec-importers-"));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

type Source = Map<string, SafetensorsTensor>;
interface Arch { L: number; d: number; H: number; dm: number; V: number; nCtx: number }
const othello: Arch = { L: 2, d: 16, H: 2, dm: 64, V: 61, nCtx: 12 };
const chess: Arch = { ...othello, V: 32 };

// ── The foreign layouts, written from the reference model code ─────────────────────────────────────────────────

type Layout = [key: string, shape: number[]][];

function gpt2Layout(a: Arch, o: { prefix: string; orientation: "linear" | "conv1d"; bias: boolean }): Layout {
  const matrix = (inputs: number, outputs: number) => (o.orientation === "linear" ? [outputs, inputs] : [inputs, outputs]);
  const layout: Layout = [[`${o.prefix}wte.weight`, [a.V, a.d]], [`${o.prefix}wpe.weight`, [a.nCtx, a.d]]];
  for (let l = 0; l < a.L; l++) {
    const h = `${o.prefix}h.${l}.`;
    layout.push(
      [`${h}ln_1.weight`, [a.d]], [`${h}attn.c_attn.weight`, matrix(a.d, 3 * a.d)], [`${h}attn.c_proj.weight`, matrix(a.d, a.d)],
      [`${h}ln_2.weight`, [a.d]], [`${h}mlp.c_fc.weight`, matrix(a.d, a.dm)], [`${h}mlp.c_proj.weight`, matrix(a.dm, a.d)],
    );
    if (o.bias) {
      layout.push([`${h}ln_1.bias`, [a.d]], [`${h}attn.c_attn.bias`, [3 * a.d]], [`${h}attn.c_proj.bias`, [a.d]],
        [`${h}ln_2.bias`, [a.d]], [`${h}mlp.c_fc.bias`, [a.dm]], [`${h}mlp.c_proj.bias`, [a.d]]);
    }
  }
  layout.push([`${o.prefix}ln_f.weight`, [a.d]]);
  if (o.bias) layout.push([`${o.prefix}ln_f.bias`, [a.d]]);
  return layout;
}

function minGptLayout(a: Arch): Layout {
  const layout: Layout = [["tok_emb.weight", [a.V, a.d]], ["pos_emb", [1, a.nCtx, a.d]]];
  for (let l = 0; l < a.L; l++) {
    const b = `blocks.${l}.`;
    layout.push([`${b}ln1.weight`, [a.d]], [`${b}ln1.bias`, [a.d]], [`${b}ln2.weight`, [a.d]], [`${b}ln2.bias`, [a.d]]);
    for (const p of ["query", "key", "value", "proj"]) layout.push([`${b}attn.${p}.weight`, [a.d, a.d]], [`${b}attn.${p}.bias`, [a.d]]);
    layout.push([`${b}mlp.0.weight`, [a.dm, a.d]], [`${b}mlp.0.bias`, [a.dm]], [`${b}mlp.2.weight`, [a.d, a.dm]], [`${b}mlp.2.bias`, [a.d]]);
  }
  layout.push(["ln_f.weight", [a.d]], ["ln_f.bias", [a.d]], ["head.weight", [a.V, a.d]]);
  return layout;
}

function tlLayout(a: Arch, o: { layerNorm: boolean; tied: boolean }): Layout {
  const dh = a.d / a.H;
  const layout: Layout = [["embed.W_E", [a.V, a.d]], ["pos_embed.W_pos", [a.nCtx, a.d]]];
  const ln = (site: string) => (o.layerNorm ? layout.push([`${site}.w`, [a.d]], [`${site}.b`, [a.d]]) : 0);
  for (let l = 0; l < a.L; l++) {
    const b = `blocks.${l}.`;
    ln(`${b}ln1`);
    ln(`${b}ln2`);
    for (const x of ["Q", "K", "V"]) layout.push([`${b}attn.W_${x}`, [a.H, a.d, dh]], [`${b}attn.b_${x}`, [a.H, dh]]);
    layout.push([`${b}attn.W_O`, [a.H, dh, a.d]], [`${b}attn.b_O`, [a.d]]);
    layout.push([`${b}mlp.W_in`, [a.d, a.dm]], [`${b}mlp.b_in`, [a.dm]], [`${b}mlp.W_out`, [a.dm, a.d]], [`${b}mlp.b_out`, [a.d]]);
  }
  ln("ln_final");
  if (!o.tied) layout.push(["unembed.W_U", [a.d, a.V]]);
  layout.push(["unembed.b_U", [a.V]]);
  return layout;
}

/** Random tensors for a layout: O(1) weights, LayerNorm weights around 1, so no path is negligible. */
function randomSource(layout: Layout, seed: number): Source {
  const source: Source = new Map();
  layout.forEach(([key, shape], i) => {
    const data = randomArray(shape.reduce((x, y) => x * y, 1), seed * 1000 + i, 0.5);
    if (/ln_?\w*\.(weight|w)$/.test(key)) data.forEach((v, j) => (data[j] = 1 + v * 0.6));
    source.set(key, { dtype: "F32", shape, data });
  });
  return source;
}

// ── An independent float64 forward pass over a source layout ─────────────────────────────────────────────────

type Vec = number[];
/** How one layout computes each piece of the model, reading its own tensors. */
interface SourceModel {
  H: number; eps: number; attnScale: number; act: "gelu" | "gelu_new"; L: number;
  embed(token: number, position: number): Vec;
  ln(site: "ln1" | "ln2" | "final", layer: number, normalized: Vec): Vec;
  qkv(layer: number, x: Vec): [Vec, Vec, Vec]; // each heads side by side [h·dh + e]
  proj(layer: number, z: Vec): Vec;
  mlpIn(layer: number, x: Vec): Vec;
  mlpOut(layer: number, post: Vec): Vec;
  unembed(x: Vec): Vec;
}

/** nn.Linear: W [out, in], y[o] = b[o] + Σ_i W[o, i]·x[i]. */
function linearApply(w: Float32Array, b: Float32Array | undefined, x: Vec): Vec {
  const n = x.length;
  return Array.from({ length: w.length / n }, (_, o) => x.reduce((sum, xi, i) => sum + w[o * n + i] * xi, b ? b[o] : 0));
}
/** HF Conv1D: W [in, out], y[o] = b[o] + Σ_i W[i, o]·x[i]. */
function conv1dApply(w: Float32Array, b: Float32Array | undefined, x: Vec): Vec {
  const outputs = w.length / x.length;
  return Array.from({ length: outputs }, (_, o) => x.reduce((sum, xi, i) => sum + w[i * outputs + o] * xi, b ? b[o] : 0));
}
const add = (a: Vec, b: Vec): Vec => a.map((v, i) => v + b[i]);
const row = (w: Float32Array, r: number, n: number): Vec => Array.from(w.subarray(r * n, (r + 1) * n));
const affine = (u: Vec, w: Float32Array | undefined, b: Float32Array | undefined): Vec => u.map((v, i) => v * (w ? w[i] : 1) + (b ? b[i] : 0));

/** erf to ~1e-13: Maclaurin series below 3, continued fraction for erfc above. */
function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 3) {
    let [term, sum] = [a, a];
    for (let n = 1; n < 100; n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  let fraction = a;
  for (let n = 80; n >= 1; n--) fraction = a + n / 2 / fraction;
  return Math.sign(x) * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / fraction);
}
const gelu = (x: number, act: "gelu" | "gelu_new") =>
  act === "gelu" ? 0.5 * x * (1 + erf(x / Math.SQRT2)) : 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

function referenceLogits(m: SourceModel, tokens: number[][]): number[][][] {
  const normalize = (x: Vec): Vec => {
    const mean = x.reduce((s, v) => s + v, 0) / x.length;
    const centred = x.map((v) => v - mean);
    const scale = Math.sqrt(centred.reduce((s, v) => s + v * v, 0) / x.length + m.eps);
    return centred.map((v) => v / scale);
  };
  return tokens.map((ids) => {
    let xs = ids.map((token, t) => m.embed(token, t));
    for (let l = 0; l < m.L; l++) {
      const qkv = xs.map((x) => m.qkv(l, m.ln("ln1", l, normalize(x))));
      const dh = qkv[0][0].length / m.H;
      const mids = xs.map((x, t) => {
        const z: Vec = [];
        for (let h = 0; h < m.H; h++) {
          const at = (v: Vec, e: number) => v[h * dh + e];
          const scores = Array.from({ length: t + 1 }, (_, j) => {
            let dot = 0;
            for (let e = 0; e < dh; e++) dot += at(qkv[t][0], e) * at(qkv[j][1], e);
            return dot / m.attnScale;
          });
          const top = Math.max(...scores);
          const weights = scores.map((s) => Math.exp(s - top));
          const total = weights.reduce((s, w) => s + w, 0);
          for (let e = 0; e < dh; e++) z.push(weights.reduce((s, w, j) => s + (w / total) * at(qkv[j][2], e), 0));
        }
        return add(x, m.proj(l, z));
      });
      xs = mids.map((mid) => add(mid, m.mlpOut(l, m.mlpIn(l, m.ln("ln2", l, normalize(mid))).map((v) => gelu(v, m.act)))));
    }
    return xs.map((x) => m.unembed(m.ln("final", 0, normalize(x))));
  });
}

function tensorReader(source: Source) {
  const opt = (key: string) => source.get(key)?.data as Float32Array | undefined;
  const must = (key: string): Float32Array => {
    const data = opt(key);
    if (!data) throw new Error(`reference: no ${key}`);
    return data;
  };
  return { opt, must };
}

/** nanoGPT (Linear) or HF (Conv1D): fused c_attn split as [Q | K | V] along its output axis. */
function gpt2Model(source: Source, o: { prefix: string; headPrefix: string; orientation: "linear" | "conv1d"; H: number; L: number; eps?: number; attnScale?: number; act: "gelu" | "gelu_new" }): SourceModel {
  const { opt, must } = tensorReader(source);
  const apply = o.orientation === "linear" ? linearApply : conv1dApply;
  const p = (key: string) => o.prefix + key;
  const layer = (key: string, l: number, x: Vec) => apply(must(p(`h.${l}.${key}.weight`)), opt(p(`h.${l}.${key}.bias`)), x);
  const wte = must(p("wte.weight"));
  const d = source.get(p("wte.weight"))!.shape[1];
  return {
    H: o.H, L: o.L, eps: o.eps ?? 1e-5, attnScale: o.attnScale ?? Math.sqrt(d / o.H), act: o.act,
    embed: (token, t) => add(row(wte, token, d), row(must(p("wpe.weight")), t, d)),
    ln: (site, l, u) => {
      const key = site === "final" ? p("ln_f") : p(`h.${l}.${site === "ln1" ? "ln_1" : "ln_2"}`);
      return affine(u, must(`${key}.weight`), opt(`${key}.bias`));
    },
    qkv: (l, x) => {
      const y = layer("attn.c_attn", l, x);
      return [y.slice(0, d), y.slice(d, 2 * d), y.slice(2 * d)];
    },
    proj: (l, z) => layer("attn.c_proj", l, z),
    mlpIn: (l, x) => layer("mlp.c_fc", l, x),
    mlpOut: (l, h) => layer("mlp.c_proj", l, h),
    // lm_head.weight [V, d] is applied like a Linear in both libraries; without it the head is wte
    unembed: (x) => linearApply(opt(`${o.headPrefix}lm_head.weight`) ?? wte, undefined, x),
  };
}

function minGptModel(source: Source, a: Arch): SourceModel {
  const { opt, must } = tensorReader(source);
  const linear = (key: string, x: Vec) => linearApply(must(`${key}.weight`), opt(`${key}.bias`), x);
  return {
    H: a.H, L: a.L, eps: 1e-5, attnScale: Math.sqrt(a.d / a.H), act: "gelu",
    embed: (token, t) => add(row(must("tok_emb.weight"), token, a.d), row(must("pos_emb"), t, a.d)),
    ln: (site, l, u) => {
      const key = site === "final" ? "ln_f" : `blocks.${l}.${site}`;
      return affine(u, must(`${key}.weight`), opt(`${key}.bias`));
    },
    qkv: (l, x) => [linear(`blocks.${l}.attn.query`, x), linear(`blocks.${l}.attn.key`, x), linear(`blocks.${l}.attn.value`, x)],
    proj: (l, z) => linear(`blocks.${l}.attn.proj`, z),
    mlpIn: (l, x) => linear(`blocks.${l}.mlp.0`, x),
    mlpOut: (l, h) => linear(`blocks.${l}.mlp.2`, h),
    unembed: (x) => linear("head", x),
  };
}

/** TransformerLens: per-head W_Q [H, d, dh] etc., row-vector products; absent LayerNorm weights = identity. */
function tlModel(source: Source, a: Arch, act: "gelu" | "gelu_new"): SourceModel {
  const { opt, must } = tensorReader(source);
  const dh = a.d / a.H;
  const heads = (w: Float32Array, b: Float32Array, x: Vec): Vec => {
    const out: Vec = [];
    for (let h = 0; h < a.H; h++) {
      for (let e = 0; e < dh; e++) out.push(x.reduce((s, xm, m) => s + xm * w[(h * a.d + m) * dh + e], b[h * dh + e]));
    }
    return out;
  };
  const rowVector = (w: Float32Array, b: Float32Array, x: Vec) => conv1dApply(w, b, x); // x·W [in, out] + b
  return {
    H: a.H, L: a.L, eps: 1e-5, attnScale: Math.sqrt(dh), act,
    embed: (token, t) => add(row(must("embed.W_E"), token, a.d), row(must("pos_embed.W_pos"), t, a.d)),
    ln: (site, l, u) => {
      const key = site === "final" ? "ln_final" : `blocks.${l}.${site}`;
      return affine(u, opt(`${key}.w`), opt(`${key}.b`));
    },
    qkv: (l, x) => ["Q", "K", "V"].map((n) => heads(must(`blocks.${l}.attn.W_${n}`), must(`blocks.${l}.attn.b_${n}`), x)) as [Vec, Vec, Vec],
    proj: (l, z) => rowVector(must(`blocks.${l}.attn.W_O`), must(`blocks.${l}.attn.b_O`), z),
    mlpIn: (l, x) => rowVector(must(`blocks.${l}.mlp.W_in`), must(`blocks.${l}.mlp.b_in`), x),
    mlpOut: (l, h) => rowVector(must(`blocks.${l}.mlp.W_out`), must(`blocks.${l}.mlp.b_out`), h),
    unembed: (x) => (opt("unembed.W_U") ? conv1dApply(must("unembed.W_U"), must("unembed.b_U"), x) : linearApply(must("embed.W_E"), must("unembed.b_U"), x)),
  };
}

// ── Helpers: run imported models, compare ─────────────────────────────────────────────────────────────────────

function randomTokens(seed: number, V: number, rows = 3, T = 12): number[][] {
  const next = seededRandom(seed);
  return Array.from({ length: rows }, () => Array.from({ length: T }, () => Math.floor(next() * V)));
}

function modelFrom(config: GptConfig, tensors: ReadonlyMap<string, SafetensorsTensor>): Gpt {
  return { tf, config, params: parametersFromTensors(tf, config, tensors, "test") };
}

function logitsOf(model: Gpt, tokens: number[][]): number[][][] {
  return tf.tidy(() => forward(model, tf.tensor2d(tokens, undefined, "int32")).arraySync());
}

function maxAbsDifference(a: number[][][], b: number[][][]): number {
  let worst = 0;
  a.forEach((rows, i) => rows.forEach((values, t) => values.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - b[i][t][k]))))));
  return worst;
}

/** Imports `source`, checks the logits against the source-layout reference, returns the config. */
function expectImportMatchesReference(scheme: ImportScheme, source: Source, options: ImportOptions, reference: SourceModel, V: number): GptConfig {
  const { config, tensors } = importState(scheme, source, options);
  const model = modelFrom(config, tensors);
  const tokens = randomTokens(17, V);
  const difference = maxAbsDifference(logitsOf(model, tokens), referenceLogits(reference, tokens));
  disposeGpt(model);
  expect(difference).toBeLessThan(1e-4);
  return config;
}

const modelArgs = (a: Arch, bias: boolean) => ({ n_layer: a.L, n_head: a.H, n_embd: a.d, block_size: a.nCtx, bias, vocab_size: a.V, dropout: 0 });
const hfConfig = (a: Arch, extra: Record<string, unknown> = {}) => ({
  model_type: "gpt2", n_layer: a.L, n_head: a.H, n_embd: a.d, n_positions: a.nCtx, vocab_size: a.V, n_inner: null,
  resid_pdrop: 0.1, summary_type: "cls_index", transformers_version: "4.40.0", ...extra,
});

// ── Tests ────────────────────────────────────────────────────────────────────────────────────────────────────

describe("import logits match a float64 forward over the source layout", () => {
  it("nanoGPT with biases, compiled (_orig_mod.), lm_head absent ⇒ tied, attention mask buffers ignored", () => {
    const source = randomSource(gpt2Layout(othello, { prefix: "_orig_mod.transformer.", orientation: "linear", bias: true }), 1);
    for (let l = 0; l < othello.L; l++) source.set(`_orig_mod.transformer.h.${l}.attn.bias`, { dtype: "F32", shape: [1, 1, 12, 12], data: new Float32Array(144).fill(1) });
    const reference = gpt2Model(source, { prefix: "_orig_mod.transformer.", headPrefix: "_orig_mod.", orientation: "linear", H: 2, L: 2, act: "gelu" });
    const config = expectImportMatchesReference("nanogpt", source, { modelArgs: modelArgs(othello, true) }, reference, othello.V);
    expect(config).toMatchObject({ game: "othello", tokenizer: "othello-61", pad_token_id: 0, tied_embeddings: true, use_bias: true, d_mlp: 64, act_fn: "gelu" });
  });

  it("nanoGPT bias=False with lm_head equal to wte ⇒ tied, no biases; vocabulary 32 ⇒ chess", () => {
    const source = randomSource(gpt2Layout(chess, { prefix: "transformer.", orientation: "linear", bias: false }), 2);
    source.set("lm_head.weight", { ...source.get("transformer.wte.weight")!, data: source.get("transformer.wte.weight")!.data.slice() });
    const reference = gpt2Model(source, { prefix: "transformer.", headPrefix: "", orientation: "linear", H: 2, L: 2, act: "gelu" });
    const config = expectImportMatchesReference("nanogpt", source, { modelArgs: modelArgs(chess, false) }, reference, chess.V);
    expect(config).toMatchObject({ game: "chess", tokenizer: "chess-32", pad_token_id: null, tied_embeddings: true, use_bias: false, model_name: "chess-2l-16" });
  });

  it("nanoGPT with an lm_head that differs from wte ⇒ untied", () => {
    const source = randomSource([...gpt2Layout(othello, { prefix: "transformer.", orientation: "linear", bias: true }), ["lm_head.weight", [61, 16]]], 3);
    const reference = gpt2Model(source, { prefix: "transformer.", headPrefix: "", orientation: "linear", H: 2, L: 2, act: "gelu" });
    expect(expectImportMatchesReference("nanogpt", source, { modelArgs: modelArgs(othello, true) }, reference, othello.V).tied_embeddings).toBe(false);
  });

  it("HF GPT-2 gelu_new, untied, n_inner ≠ 4d, transformer. prefix, bias/masked_bias buffers ignored", () => {
    const a = { ...othello, dm: 24 };
    const source = randomSource([...gpt2Layout(a, { prefix: "transformer.", orientation: "conv1d", bias: true }), ["lm_head.weight", [61, 16]]], 4);
    for (let l = 0; l < a.L; l++) {
      source.set(`transformer.h.${l}.attn.bias`, { dtype: "U8", shape: [1, 1, 12, 12], data: new Uint8Array(144) });
      source.set(`transformer.h.${l}.attn.masked_bias`, { dtype: "F32", shape: [], data: new Float32Array([-1e4]) });
    }
    const options = { hfConfig: hfConfig(a, { n_inner: 24, activation_function: "gelu_new", tie_word_embeddings: false }) };
    const reference = gpt2Model(source, { prefix: "transformer.", headPrefix: "", orientation: "conv1d", H: 2, L: 2, act: "gelu_new" });
    const config = expectImportMatchesReference("hf-gpt2", source, options, reference, a.V);
    expect(config).toMatchObject({ act_fn: "gelu_new", d_mlp: 24, tied_embeddings: false, use_bias: true, attn_scale: null });
  });

  it("HF GPT-2 exact gelu, no prefix, tied, scale_attn_weights false ⇒ attn_scale 1, layer_norm_epsilon read", () => {
    const source = randomSource(gpt2Layout(othello, { prefix: "", orientation: "conv1d", bias: true }), 5);
    const options = { hfConfig: hfConfig(othello, { activation_function: "gelu", scale_attn_weights: false, layer_norm_epsilon: 1e-3 }), modelName: "hf-tiny" };
    const reference = gpt2Model(source, { prefix: "", headPrefix: "", orientation: "conv1d", H: 2, L: 2, act: "gelu", attnScale: 1, eps: 1e-3 });
    const config = expectImportMatchesReference("hf-gpt2", source, options, reference, othello.V);
    expect(config).toMatchObject({ act_fn: "gelu", attn_scale: 1, eps: 1e-3, tied_embeddings: true, model_name: "hf-tiny" });
  });

  it("minGPT (Li et al.): separate query/key/value, pos_emb [1, C, d], sizes inferred, mask buffers ignored", () => {
    const a = { ...othello, dm: 40 };
    const source = randomSource(minGptLayout(a), 6);
    for (let l = 0; l < a.L; l++) source.set(`blocks.${l}.attn.mask`, { dtype: "F32", shape: [1, 1, 12, 12], data: new Float32Array(144) });
    const config = expectImportMatchesReference("mingpt", source, { nHeads: 2 }, minGptModel(source, a), a.V);
    expect(config).toMatchObject({ n_layers: 2, d_model: 16, n_heads: 2, d_head: 8, d_mlp: 40, d_vocab: 61, n_ctx: 12, tied_embeddings: false, use_bias: true });
  });

  it("TransformerLens loads by identity; folded LayerNorm (LNPre, no ln weights) and tied W_U load too", () => {
    const withLn = randomSource(tlLayout(othello, { layerNorm: true, tied: false }), 7);
    withLn.set("blocks.0.attn.IGNORE", { dtype: "F32", shape: [], data: new Float32Array([-1e5]) });
    withLn.set("blocks.1.attn.mask", { dtype: "BOOL", shape: [12, 12], data: new Uint8Array(144) });
    const config = expectImportMatchesReference("transformer-lens", withLn, { tlConfig: { act_fn: "gelu_new", n_heads: 2 } }, tlModel(withLn, othello, "gelu_new"), 61);
    expect(config).toMatchObject({ normalization_type: "LN", act_fn: "gelu_new" });

    const folded = randomSource(tlLayout(othello, { layerNorm: false, tied: true }), 8);
    const lnPre = expectImportMatchesReference("transformer-lens", folded, {}, tlModel(folded, othello, "gelu"), 61);
    expect(lnPre).toMatchObject({ normalization_type: "LNPre", tied_embeddings: true });
    const { tensors } = importState("transformer-lens", folded);
    expect(Array.from(tensors.get("blocks.1.ln2.w")!.data as Float32Array)).toEqual(Array(16).fill(1));
    expect(Array.from(tensors.get("ln_final.b")!.data as Float32Array)).toEqual(Array(16).fill(0));
  });
});

/** A native model state with random O(1) values (zero biases when use_bias is false, identity LNs for LNPre). */
function randomNativeState(config: GptConfig, seed: number): Map<string, SafetensorsTensor> {
  const state = new Map<string, SafetensorsTensor>();
  parameterSpecs(config).forEach((spec, i) => {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const isLn = /ln\w*\.[wb]$/.test(spec.name);
    let data = randomArray(size, seed * 1000 + i, 0.5);
    if (!spec.trainable || spec.name === "unembed.b_U") data = new Float32Array(size); // foreign heads have no bias
    if (isLn && spec.name.endsWith(".w")) data = config.normalization_type === "LNPre" ? new Float32Array(size).fill(1) : data.map((v) => 1 + v * 0.6);
    if (isLn && spec.name.endsWith(".b") && (config.normalization_type === "LNPre" || !config.use_bias)) data = new Float32Array(size);
    state.set(spec.name, { dtype: "F32", shape: [...spec.shape], data });
  });
  return state;
}

function tinyConfig(overrides: Partial<GptConfigInput>): GptConfig {
  return parseGptConfig({
    format: "sae-circuits.gpt", format_version: 1, model_name: "othello-2l-16", game: "othello", tokenizer: "othello-61",
    n_layers: 2, d_model: 16, n_heads: 2, d_head: 8, d_mlp: 64, d_vocab: 61, n_ctx: 12, pad_token_id: 0, seed: 0, ...overrides,
  });
}

const optionsFor = (scheme: ImportScheme, foreignConfig: Record<string, unknown>): ImportOptions =>
  scheme === "nanogpt" ? { modelArgs: foreignConfig }
  : scheme === "hf-gpt2" ? { hfConfig: foreignConfig }
  : scheme === "mingpt" ? { nHeads: foreignConfig.n_head as number }
  : { tlConfig: foreignConfig };

const roundTrips: [ImportScheme, Partial<GptConfigInput>, (c: GptConfig, s: Source) => { layout: Layout; model: SourceModel }][] = [
  ["nanogpt", { tied_embeddings: true }, (c, s) => ({
    layout: [...gpt2Layout(archOf(c), { prefix: "transformer.", orientation: "linear", bias: true }), ["lm_head.weight", [61, 16]]],
    model: gpt2Model(s, { prefix: "transformer.", headPrefix: "", orientation: "linear", H: 2, L: 2, act: "gelu" }),
  })],
  ["nanogpt", { tied_embeddings: true, use_bias: false, game: "chess", tokenizer: "chess-32", d_vocab: 32, pad_token_id: null, model_name: "chess-2l-16" }, (c, s) => ({
    layout: [...gpt2Layout(archOf(c), { prefix: "transformer.", orientation: "linear", bias: false }), ["lm_head.weight", [32, 16]]],
    model: gpt2Model(s, { prefix: "transformer.", headPrefix: "", orientation: "linear", H: 2, L: 2, act: "gelu" }),
  })],
  ["hf-gpt2", { act_fn: "gelu_new", d_mlp: 24 }, (c, s) => ({
    layout: [...gpt2Layout(archOf(c), { prefix: "transformer.", orientation: "conv1d", bias: true }), ["lm_head.weight", [61, 16]]],
    model: gpt2Model(s, { prefix: "transformer.", headPrefix: "", orientation: "conv1d", H: 2, L: 2, act: "gelu_new" }),
  })],
  ["hf-gpt2", { tied_embeddings: true, attn_scale: 1, eps: 1e-4 }, (c, s) => ({
    layout: gpt2Layout(archOf(c), { prefix: "transformer.", orientation: "conv1d", bias: true }),
    model: gpt2Model(s, { prefix: "transformer.", headPrefix: "", orientation: "conv1d", H: 2, L: 2, act: "gelu", attnScale: 1, eps: 1e-4 }),
  })],
  ["mingpt", { d_mlp: 40 }, (c, s) => ({ layout: minGptLayout(archOf(c)), model: minGptModel(s, archOf(c)) })],
  ["transformer-lens", {}, (c, s) => ({ layout: tlLayout(archOf(c), { layerNorm: true, tied: false }), model: tlModel(s, archOf(c), "gelu") })],
  ["transformer-lens", { normalization_type: "LNPre", tied_embeddings: true, act_fn: "gelu_new" }, (c, s) => ({
    layout: tlLayout(archOf(c), { layerNorm: false, tied: true }), model: tlModel(s, archOf(c), "gelu_new"),
  })],
];

function archOf(c: GptConfig): Arch {
  return { L: c.n_layers, d: c.d_model, H: c.n_heads, dm: c.d_mlp, V: c.d_vocab, nCtx: c.n_ctx };
}

describe("exportState ∘ importState round trip", () => {
  roundTrips.forEach(([scheme, overrides, describeSource], index) => {
    it(`${scheme} ${JSON.stringify(overrides)}: identical tensors and config; the exported layout computes the same logits`, () => {
      const config = tinyConfig(overrides);
      const state = randomNativeState(config, 20 + index);
      const exported = exportState(scheme, state, config);
      const { layout, model: reference } = describeSource(config, exported.tensors);
      expect(new Map([...exported.tensors].map(([key, t]) => [key, t.shape]))).toEqual(new Map(layout));
      for (const tensor of exported.tensors.values()) expect(tensor.dtype).toBe("F32");

      const imported = importState(scheme, exported.tensors, optionsFor(scheme, exported.foreignConfig));
      expect([...imported.tensors.keys()]).toEqual([...state.keys()]);
      for (const [name, tensor] of state) {
        const back = imported.tensors.get(name)!;
        expect(back.shape, name).toEqual(tensor.shape);
        expect(Buffer.from(back.data.buffer, back.data.byteOffset, back.data.byteLength).equals(Buffer.from(tensor.data.buffer)), name).toBe(true);
      }
      const architecture = ["n_layers", "d_model", "n_heads", "d_head", "d_mlp", "d_vocab", "n_ctx", "act_fn", "eps", "attn_scale",
        "normalization_type", "tied_embeddings", "use_bias", "game", "tokenizer", "pad_token_id", "model_name"] as const;
      for (const field of architecture) expect(imported.config[field], field).toEqual(config[field]);

      const model = modelFrom(config, state);
      const tokens = randomTokens(30 + index, config.d_vocab);
      expect(maxAbsDifference(logitsOf(model, tokens), referenceLogits(reference, tokens))).toBeLessThan(1e-4);
      disposeGpt(model);
    });
  });

  it("rejects models the foreign layout cannot represent", () => {
    const gpt2 = tinyConfig({ act_fn: "gelu_new", tied_embeddings: true });
    expect(() => exportState("nanogpt", randomNativeState(gpt2, 1), gpt2)).toThrow(ExportError);
    expect(() => exportState("nanogpt", randomNativeState(gpt2, 1), gpt2)).toThrow(/nanogpt export: act_fn: .*gelu_new/);
    const untied = tinyConfig({});
    expect(() => exportState("nanogpt", randomNativeState(untied, 1), untied)).toThrow(/tied_embeddings/);
    const state = randomNativeState(untied, 1);
    state.get("unembed.b_U")!.data[3] = 0.5;
    expect(() => exportState("hf-gpt2", state, untied)).toThrow(/unembed\.b_U: is non-zero/);
    const odd = tinyConfig({ attn_scale: 3 });
    expect(() => exportState("mingpt", randomNativeState(odd, 1), odd)).toThrow(/attn_scale/);
  });
});

describe("import errors name the key, field and shapes", () => {
  const nano = () => randomSource(gpt2Layout(othello, { prefix: "transformer.", orientation: "linear", bias: true }), 9);
  const nanoOptions = { modelArgs: modelArgs(othello, true), source: { file: "ckpt.safetensors", sha256: "00" } };

  it("an unknown key is named", () => {
    const source = nano();
    source.set("transformer.h.0.attn.c_attn.extra", { dtype: "F32", shape: [2], data: new Float32Array(2) });
    expect(() => importState("nanogpt", source, nanoOptions)).toThrow(ImportError);
    expect(() => importState("nanogpt", source, nanoOptions)).toThrow(/nanogpt import of ckpt\.safetensors: tensor "transformer\.h\.0\.attn\.c_attn\.extra": not part of the nanogpt layout/);
    const stray = randomSource(tlLayout(othello, { layerNorm: true, tied: false }), 10);
    stray.set("blocks.0.hook_resid_pre", { dtype: "F32", shape: [1], data: new Float32Array(1) });
    expect(() => importState("transformer-lens", stray)).toThrow(/"blocks\.0\.hook_resid_pre": not part of/);
  });

  it("a missing key is named, with the source's spelling", () => {
    const source = nano();
    source.delete("transformer.h.1.mlp.c_fc.weight");
    expect(() => importState("nanogpt", source, nanoOptions)).toThrow(/tensor "transformer\.h\.1\.mlp\.c_fc\.weight": missing \(expected shape \[64, 16\]\)/);
    const partial = nano();
    partial.delete("transformer.h.0.attn.c_proj.bias");
    expect(() => importState("nanogpt", partial, nanoOptions)).toThrow(/"transformer\.h\.0\.attn\.c_proj\.bias": missing, though other biases \(e\.g\. "transformer\.h\.0\.ln_1\.bias"\)/);
    const hf = randomSource(gpt2Layout(othello, { prefix: "", orientation: "conv1d", bias: true }), 11);
    expect(() => importState("hf-gpt2", hf, { hfConfig: hfConfig(othello, { tie_word_embeddings: false }) })).toThrow(/tensor "lm_head\.weight": missing/);
  });

  it("a wrong shape names the tensor and both shapes", () => {
    // nanoGPT's Linear orientation handed to the HF importer, which expects Conv1D [in, out]
    const source = randomSource(gpt2Layout(othello, { prefix: "transformer.", orientation: "linear", bias: true }), 12);
    expect(() => importState("hf-gpt2", source, { hfConfig: hfConfig(othello) })).toThrow(/"transformer\.h\.0\.attn\.c_attn\.weight": shape \[48, 16\] in the source, \[16, 48\] expected/);
    const wrongHeads = nano();
    expect(() => importState("nanogpt", wrongHeads, { modelArgs: { ...modelArgs(othello, true), n_embd: 32 } })).toThrow(/shape \[61, 16\] in the source, \[61, 32\] expected/);
  });

  it("minGPT needs n_heads", () => {
    const source = randomSource(minGptLayout(othello), 13);
    expect(() => importState("mingpt", source)).toThrow(/mingpt import of <tensors>: n_heads: required/);
    expect(() => importState("mingpt", source, { nHeads: 3 })).toThrow(/3 heads do not divide d_model 16/);
  });

  it("HF configs the GPT cannot compute are rejected", () => {
    const source = randomSource(gpt2Layout(othello, { prefix: "", orientation: "conv1d", bias: true }), 14);
    expect(() => importState("hf-gpt2", source, { hfConfig: hfConfig(othello, { scale_attn_by_inverse_layer_idx: true }) })).toThrow(/field "scale_attn_by_inverse_layer_idx": per-layer score scaling is not supported \(got true\)/);
    expect(() => importState("hf-gpt2", source, { hfConfig: hfConfig(othello, { activation_function: "relu" }) })).toThrow(/field "activation_function": not supported.*\(got "relu"\)/);
    expect(() => importState("hf-gpt2", source, { hfConfig: hfConfig(othello, { activation_function: "gelu_pytorch_tanh" }) })).not.toThrow();
    expect(() => importState("hf-gpt2", source, { hfConfig: { ...hfConfig(othello), model_type: "gpt_neo" } })).toThrow(/model_type/);
    expect(() => importState("hf-gpt2", source)).toThrow(/config\.json: required/);
    const withHead = new Map(source);
    withHead.set("lm_head.weight", { dtype: "F32", shape: [61, 16], data: randomArray(61 * 16, 99) });
    expect(() => importState("hf-gpt2", withHead, { hfConfig: hfConfig(othello) })).toThrow(/"lm_head\.weight": differs from wte\.weight/);
  });

  it("nanoGPT model_args are required and checked; other vocabularies need the game", () => {
    const source = nano();
    expect(() => importState("nanogpt", source)).toThrow(/model_args: required/);
    expect(() => importState("nanogpt", source, { modelArgs: { ...modelArgs(othello, true), n_kv_head: 1 } })).toThrow(/field "n_kv_head": unknown model_args field/);
    expect(() => importState("nanogpt", source, { modelArgs: modelArgs(othello, false) })).toThrow(/field "bias": disagrees with the tensors, which have biases/);
    const odd = randomSource(tlLayout({ ...othello, V: 50 }, { layerNorm: true, tied: false }), 15);
    expect(() => importState("transformer-lens", odd)).toThrow(/d_vocab: vocabulary size 50 is neither Othello's 61 nor chess's 32/);
    expect(importState("transformer-lens", odd, { game: "chess", padTokenId: 0 }).config).toMatchObject({ game: "chess", tokenizer: "chess-32", pad_token_id: 0 });
    expect(() => importState("transformer-lens", odd, { tlConfig: { d_mlp: 32 }, game: "chess" })).toThrow(/field "d_mlp": disagrees with the tensors, which give 64/);
  });
});

describe("importCheckpoint", () => {
  it("reads a .safetensors file with its sibling config, records the source, and saves as a native checkpoint", async () => {
    const config = tinyConfig({ act_fn: "gelu_new" });
    const state = randomNativeState(config, 40);
    const exported = exportState("hf-gpt2", state, config);
    const dir = path.join(scratch, "hf");
    const file = path.join(dir, "model.safetensors");
    await writeSafetensors(file, exported.tensors);
    await expect(importCheckpoint(tf, "hf-gpt2", file)).rejects.toThrow(/config\.json: not given in the options and not readable/);
    await writeFile(path.join(dir, "config.json"), JSON.stringify(exported.foreignConfig));

    const { model, sha256 } = await importCheckpoint(tf, "hf-gpt2", file, { seed: 5 });
    expect(sha256).toBe(createHash("sha256").update(await readFile(file)).digest("hex"));
    expect(model.config.source).toEqual({ importer: "hf-gpt2", file, sha256 });
    expect(model.config.seed).toBe(5);
    expect(model.params.get("blocks.1.attn.W_K")!.dataSync()).toEqual(state.get("blocks.1.attn.W_K")!.data);

    const saved = path.join(scratch, "native");
    await saveGpt(model, saved);
    const loaded = await loadGpt(tf, saved);
    expect(loaded.config.source).toEqual(model.config.source);
    const tokens = randomTokens(41, 61);
    expect(logitsOf(loaded, tokens)).toEqual(logitsOf(model, tokens));
    disposeGpt(model);
    disposeGpt(loaded);
  });

  it("nanoGPT reads model_args.json; F64 and BF16 tensors are converted; .pt files are refused", async () => {
    const config = tinyConfig({ tied_embeddings: true });
    const state = randomNativeState(config, 42);
    const exported = exportState("nanogpt", state, config);
    const dir = path.join(scratch, "nano");
    const asF64 = new Map([...exported.tensors].map(([key, t]) => [key, { dtype: "F64" as const, shape: t.shape, data: Float64Array.from(t.data as Float32Array) }]));
    await writeSafetensors(path.join(dir, "ckpt.safetensors"), asF64);
    await writeFile(path.join(dir, "model_args.json"), JSON.stringify(exported.foreignConfig));
    const { model } = await importCheckpoint(tf, "nanogpt", path.join(dir, "ckpt.safetensors"));
    expect(model.params.get("blocks.0.mlp.W_out")!.dataSync()).toEqual(state.get("blocks.0.mlp.W_out")!.data);
    disposeGpt(model);

    // BF16 keeps the top 16 bits of each float32
    const truncate = (data: Float32Array) => new Float32Array(new Uint32Array(data.slice().buffer).map((bits) => bits & 0xffff0000).buffer);
    const asBf16 = new Map([...exported.tensors].map(([key, t]) => [key, {
      dtype: "BF16" as const, shape: t.shape, data: new Uint16Array(new Uint32Array((t.data as Float32Array).slice().buffer).map((bits) => bits >>> 16)),
    }]));
    const bf16 = importState("nanogpt", asBf16, { modelArgs: exported.foreignConfig });
    expect(bf16.tensors.get("blocks.1.attn.W_O")!.data).toEqual(truncate(state.get("blocks.1.attn.W_O")!.data as Float32Array));

    const pt = path.join(dir, "ckpt.pt");
    await writeFile(pt, Buffer.concat([Buffer.from("PK\x03\x04", "latin1"), Buffer.alloc(60)]));
    await expect(importCheckpoint(tf, "nanogpt", pt)).rejects.toThrow(/PyTorch zip \(\.pt\) file, which is not read/);
  });
});
