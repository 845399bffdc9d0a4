// The GPT of spec model.md §1: learned positions, pre-LN blocks (attention then MLP), GELU, causal attention,
// untied unembedding (or tied), every activation passing through a TransformerLens-named hook where it is made.

import type * as tfTypes from "@tensorflow/tfjs";
import { fusedGelu } from "../compute/tfjs-fused-kernels.js";
import { attentionScale, type GptConfig } from "./config.js";
import { initParameters, type GptParameters } from "./init.js";

type Tensor = tfTypes.Tensor;
type Tf = typeof tfTypes;

export interface Gpt {
  tf: Tf;
  config: GptConfig;
  /** Named as spec §5.1 (`embed.W_E`, `blocks.0.attn.W_Q`, …). */
  params: GptParameters;
}

/** Sees each activation where it is made; returning a tensor (same shape) replaces it downstream. */
export type HookCallback = (name: string, activation: Tensor) => Tensor | undefined | void;

/** A hook name the model does not have; the message lists the valid ones. */
export class UnknownHookError extends Error {
  constructor(readonly hook: string, readonly valid: readonly string[]) {
    super(`unknown hook "${hook}"; valid hook names: ${valid.join(", ")}`);
    this.name = "UnknownHookError";
  }
}

/** A model with fresh parameters initialised from config.seed (spec §4). */
export function createGpt(tf: Tf, config: GptConfig): Gpt {
  return { tf, config, params: initParameters(tf, config) };
}

export function disposeGpt(model: Gpt): void {
  for (const variable of model.params.values()) variable.dispose();
}

const BLOCK_HOOKS = [
  "hook_resid_pre", "ln1.hook_scale", "ln1.hook_normalized",
  "attn.hook_q", "attn.hook_k", "attn.hook_v", "attn.hook_attn_scores", "attn.hook_pattern", "attn.hook_z",
  "hook_attn_out", "hook_resid_mid", "ln2.hook_scale", "ln2.hook_normalized",
  "mlp.hook_pre", "mlp.hook_post", "hook_mlp_out", "hook_resid_post",
] as const;

/** Every hook point in the order it fires (spec §1). */
export function hookNames(config: GptConfig): string[] {
  const names = ["hook_embed", "hook_pos_embed"];
  for (let l = 0; l < config.n_layers; l++) names.push(...BLOCK_HOOKS.map((hook) => `blocks.${l}.${hook}`));
  names.push("ln_final.hook_scale", "ln_final.hook_normalized");
  return names;
}

/** Training mode: dropout at nanoGPT's places (spec §1), drawn from `seed` (one seed per forward pass). */
export interface ForwardTraining {
  dropout: number;
  seed: number;
}

/**
 * Logits [B, T, V] for token ids [B, T] (int32, T ≤ n_ctx), eval mode unless `training` is given. Intermediate
 * tensors are not disposed here (the autodiff tape may need them): call it inside tf.tidy, or use runWithCache.
 */
export function forward(model: Gpt, tokens: tfTypes.Tensor2D, hook?: HookCallback, training?: ForwardTraining): tfTypes.Tensor3D {
  const { tf, config } = model;
  const [B, T] = checkTokens(model, tokens);
  const { d_model: d, n_heads: H, d_head: dh, d_vocab: V } = config;
  const param = (name: string): Tensor => model.params.get(name)!;
  const hooked = <X extends Tensor>(name: string, x: X): X => {
    const replacement = hook?.(name, x);
    if (!replacement) return x;
    if (!sameShape(replacement.shape, x.shape)) {
      throw new Error(`hook "${name}" returned shape [${replacement.shape}], expected [${x.shape}]`);
    }
    return replacement as X;
  };

  // Dropout sites are numbered in call order so each gets its own deterministic mask.
  let dropoutSite = 0;
  const dropout = <X extends Tensor>(x: X): X =>
    training && training.dropout > 0 ? (tf.dropout(x, training.dropout, undefined, (training.seed + 7919 * dropoutSite++) % 2147483647) as X) : x;

  // x [B,T,n] · W [n,m] → [B,T,m]; a 2-D matMul so the explicit-transpose gradient of compute/tfjs.ts applies.
  const linear = (x: Tensor, w: Tensor, b?: Tensor): Tensor => {
    const [n, m] = w.shape as [number, number];
    const y = tf.matMul(x.reshape([-1, n]) as tfTypes.Tensor2D, w as tfTypes.Tensor2D).reshape([B, T, m]);
    return b ? y.add(b) : y;
  };
  const layerNorm = (x: Tensor, prefix: string): Tensor => {
    const centred = x.sub(x.mean(-1, true));
    const scale = hooked(`${prefix}.hook_scale`, centred.square().mean(-1, true).add(config.eps).sqrt());
    const normalized = hooked(`${prefix}.hook_normalized`, centred.div(scale));
    return normalized.mul(param(`${prefix}.w`)).add(param(`${prefix}.b`));
  };
  // Per-head projection: x [B,T,d] · W [H,d,dh] + b [H,dh] → [B,T,H,dh].
  const headProjection = (x: Tensor, w: Tensor, b: Tensor): Tensor =>
    linear(x, w.transpose([1, 0, 2]).reshape([d, H * dh])).reshape([B, T, H, dh]).add(b);
  // [T,T], true where j ≤ i (built by comparison: bandPart on bool tensors is wrong on the wasm backend)
  // Added, not selected: x + 0 is x exactly and finite x + (−∞) is −∞, so this equals the select of spec §1
  // bit for bit, without materialising a [B,H,T,T] mask (tfjs-wasm's Tile/broadcastTo is slow).
  const causalMask = tf.range(0, T, 1, "int32").expandDims(1).greaterEqual(tf.range(0, T, 1, "int32").expandDims(0));
  const maskBias = tf.where(causalMask, tf.zeros([T, T]), tf.fill([T, T], -Infinity));

  const attention = (x: Tensor, prefix: string): Tensor => {
    const q = hooked(`${prefix}.hook_q`, headProjection(x, param(`${prefix}.W_Q`), param(`${prefix}.b_Q`)));
    const k = hooked(`${prefix}.hook_k`, headProjection(x, param(`${prefix}.W_K`), param(`${prefix}.b_K`)));
    const v = hooked(`${prefix}.hook_v`, headProjection(x, param(`${prefix}.W_V`), param(`${prefix}.b_V`)));
    // Explicit transposes rather than matMul's transpose flags (spec §4 performance note).
    const rawScores = tf.matMul(q.transpose([0, 2, 1, 3]), k.transpose([0, 2, 3, 1])).div(attentionScale(config));
    // Masked scores become −∞ (added, never multiplied; spec §1): masked probabilities are exactly 0.
    const scores = hooked(`${prefix}.hook_attn_scores`, rawScores.add(maskBias));
    const pattern = hooked(`${prefix}.hook_pattern`, tf.softmax(scores, -1)); // [B,H,T,T]
    const z = hooked(`${prefix}.hook_z`, tf.matMul(dropout(pattern), v.transpose([0, 2, 1, 3])).transpose([0, 2, 1, 3])); // [B,T,H,dh]
    return dropout(linear(z.reshape([B, T, H * dh]), param(`${prefix}.W_O`).reshape([H * dh, d]), param(`${prefix}.b_O`)));
  };
  const mlp = (x: Tensor, prefix: string): Tensor => {
    const pre = hooked(`${prefix}.hook_pre`, linear(x, param(`${prefix}.W_in`), param(`${prefix}.b_in`)));
    const post = hooked(`${prefix}.hook_post`, gelu(tf, pre, config.act_fn));
    return dropout(linear(post, param(`${prefix}.W_out`), param(`${prefix}.b_out`)));
  };

  // Embedding as one-hot · W_E: gather's gradient needs UnsortedSegmentSum, which wasm lacks (spec §4).
  const embed = hooked("hook_embed", linear(tf.oneHot(tokens, V).toFloat(), param("embed.W_E")));
  const positions = hooked("hook_pos_embed", tf.zeros([B, T, d]).add(param("pos_embed.W_pos").slice([0, 0], [T, d])));
  let residual = dropout(embed.add(positions));
  for (let l = 0; l < config.n_layers; l++) {
    const block = `blocks.${l}`;
    residual = hooked(`${block}.hook_resid_pre`, residual);
    const attnOut = hooked(`${block}.hook_attn_out`, attention(layerNorm(residual, `${block}.ln1`), `${block}.attn`));
    const mid = hooked(`${block}.hook_resid_mid`, residual.add(attnOut));
    const mlpOut = hooked(`${block}.hook_mlp_out`, mlp(layerNorm(mid, `${block}.ln2`), `${block}.mlp`));
    residual = hooked(`${block}.hook_resid_post`, mid.add(mlpOut));
  }
  const final = layerNorm(residual, "ln_final");
  const unembed = config.tied_embeddings ? param("embed.W_E").transpose() : param("unembed.W_U");
  return linear(final, unembed, param("unembed.b_U")) as tfTypes.Tensor3D;
}

/** GELU by act_fn (spec §1): "gelu" exact with erf, "gelu_new" the tanh approximation of HF GPT-2. */
export function gelu(tf: Tf, x: Tensor, actFn: GptConfig["act_fn"]): Tensor {
  const fused = fusedGelu(tf, x, actFn); // one provider kernel where tfjs routes to one (compute/tfjs-fused-kernels.ts)
  if (fused) return fused;
  if (actFn === "gelu") return x.mul(tf.erf(x.div(Math.SQRT2)).add(1)).mul(0.5);
  const inner = x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
  return x.mul(tf.tanh(inner).add(1)).mul(0.5);
}

/**
 * One forward pass, keeping the named activations (after any replacement by `hook`). Everything else is
 * disposed; the caller owns and disposes logits and the cached tensors.
 */
export function runWithCache(
  model: Gpt,
  tokens: tfTypes.Tensor2D,
  names: readonly string[],
  hook?: HookCallback,
): { logits: tfTypes.Tensor3D; cache: Map<string, Tensor> } {
  const valid = hookNames(model.config);
  for (const name of names) if (!valid.includes(name)) throw new UnknownHookError(name, valid);
  const wanted = new Set(names);
  const captured = new Map<string, Tensor>();
  const logits = model.tf.tidy(() =>
    forward(model, tokens, (name, activation) => {
      const value = hook?.(name, activation) ?? activation;
      if (wanted.has(name)) captured.set(name, model.tf.keep(value));
      return value === activation ? undefined : value;
    }),
  );
  return { logits, cache: captured };
}

function checkTokens(model: Gpt, tokens: Tensor): [number, number] {
  if (tokens.rank !== 2 || tokens.dtype !== "int32") {
    throw new Error(`forward: tokens must be int32 [B, T], got ${tokens.dtype} [${tokens.shape}]`);
  }
  const [B, T] = tokens.shape as [number, number];
  if (T < 1 || T > model.config.n_ctx) throw new Error(`forward: tokens length T = ${T} must be in [1, n_ctx = ${model.config.n_ctx}]`);
  const ids = tokens.dataSync();
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0 || ids[i] >= model.config.d_vocab) {
      throw new Error(`forward: token id ${ids[i]} at [${Math.floor(i / T)}, ${i % T}] is outside [0, d_vocab = ${model.config.d_vocab})`);
    }
  }
  return [B, T];
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((size, i) => size === b[i]);
}
