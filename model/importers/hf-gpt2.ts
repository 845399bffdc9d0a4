// HF transformers GPT-2 (GPT2Model / GPT2LMHeadModel) ↔ spec §5.1 (spec model.md §5.3): GPT-2 layout with Conv1D
// [in, out] weights — already TransformerLens's orientation — `transformer.` prefix optional, config from
// config.json; lm_head absent ⇒ tied.

import { attentionScale, type GptConfig } from "../config.js";
import type { SafetensorsTensor } from "../safetensors.js";
import { dimsOf, gpt2BiasKeys, readGpt2Body, writeGpt2Body } from "./gpt2-layout.js";
import { f32, sameBits, transpose } from "./layout.js";
import {
  allOrNone, buildConfig, ExportError, ForeignConfig, ImportError, modelState, nativeTensors, requireZeros, SourceReader,
  zeros, type ExportedState, type ImportedState, type ImportOptions,
} from "./source.js";

const PREFIX = "transformer.";

/** HF activation_function → act_fn; anything else is not a model this project computes. */
const ACTIVATIONS: Record<string, GptConfig["act_fn"]> = { gelu_new: "gelu_new", gelu_pytorch_tanh: "gelu_new", gelu: "gelu" };

function normalise(original: string): string | null {
  const key = original.startsWith(PREFIX) ? original.slice(PREFIX.length) : original;
  return /^h\.\d+\.attn\.(bias|masked_bias)$/.test(key) ? null : key; // causal-mask buffers
}

export function importHfGpt2(tensors: ReadonlyMap<string, SafetensorsTensor>, options: ImportOptions, file: string): ImportedState {
  if (!options.hfConfig) throw new ImportError("hf-gpt2", file, "config.json", "required: pass the model's config.json object");
  const cfg = new ForeignConfig("hf-gpt2", `config.json of ${file}`, options.hfConfig);
  if (cfg.has("model_type") && cfg.values.model_type !== "gpt2") cfg.fail("model_type", 'only "gpt2" is a GPT-2');
  if (cfg.bool("scale_attn_by_inverse_layer_idx", false)) cfg.fail("scale_attn_by_inverse_layer_idx", "per-layer score scaling is not supported");
  if (cfg.bool("add_cross_attention", false)) cfg.fail("add_cross_attention", "cross-attention is not supported");
  const activation = cfg.string("activation_function", "gelu_new"); // HF's default
  const actFn = ACTIVATIONS[activation] ?? cfg.fail("activation_function", `not supported; use one of ${Object.keys(ACTIVATIONS).join(", ")}`);
  const d = cfg.int("n_embd");
  const arch = {
    n_layers: cfg.int("n_layer"), d_model: d, n_heads: cfg.int("n_head"), d_mlp: cfg.int("n_inner", 4 * d),
    d_vocab: cfg.int("vocab_size"), n_ctx: cfg.has("n_positions") || !cfg.has("n_ctx") ? cfg.int("n_positions") : cfg.int("n_ctx"), // n_ctx: older configs
  };
  const dims = dimsOf(arch);
  const prefixed = [...tensors.keys()].some((key) => key.startsWith(PREFIX));
  const reader = new SourceReader("hf-gpt2", file, tensors, normalise, (key) => (prefixed && key !== "lm_head.weight" ? PREFIX + key : key));

  const useBias = allOrNone(reader, gpt2BiasKeys(dims.L), "biases");
  const tieWords = cfg.bool("tie_word_embeddings", true);
  const values = new Map<string, Float32Array>();
  if (tieWords) {
    const wte = reader.takeIfPresent("wte.weight", [dims.V, d]);
    const lmHead = reader.takeIfPresent("lm_head.weight", [dims.V, d]);
    if (wte && lmHead && !sameBits(wte, lmHead)) reader.fail("lm_head.weight", "differs from wte.weight, but config.json says tie_word_embeddings: true");
    values.set("embed.W_E", wte ?? lmHead ?? reader.take("wte.weight", [dims.V, d]));
  } else {
    values.set("embed.W_E", reader.take("wte.weight", [dims.V, d]));
    values.set("unembed.W_U", transpose(reader.take("lm_head.weight", [dims.V, d]), dims.V, d));
  }
  readGpt2Body(reader, dims, "conv1d", useBias, values);
  values.set("unembed.b_U", zeros(dims.V));
  reader.finish();

  const config = buildConfig("hf-gpt2", file, {
    ...arch, act_fn: actFn, eps: cfg.number("layer_norm_epsilon", 1e-5),
    attn_scale: cfg.bool("scale_attn_weights", true) ? null : 1, // HF divides by √d_head only when scale_attn_weights
    use_bias: useBias, tied_embeddings: tieWords, normalization_type: "LN",
  }, options);
  return { config, tensors: nativeTensors(config, values) };
}

/** GPT2LMHeadModel's state dict (biases always, zeros for a bias-free model; lm_head only when untied) and config.json. */
export function exportHfGpt2(config: GptConfig, tensors: ReadonlyMap<string, SafetensorsTensor>): ExportedState {
  const state = modelState("hf-gpt2", config, tensors);
  const dims = dimsOf(config);
  const scale = attentionScale(config);
  if (scale !== Math.sqrt(config.d_head) && scale !== 1) {
    throw new ExportError("hf-gpt2", "attn_scale", `HF GPT-2 divides scores by √d_head or by 1, got ${config.attn_scale}`);
  }
  requireZeros("hf-gpt2", state, ["unembed.b_U"], "HF GPT-2's lm_head has no bias");

  const out = new Map<string, SafetensorsTensor>();
  out.set(`${PREFIX}wte.weight`, f32([dims.V, dims.d], state.get("embed.W_E")!.slice()));
  for (const [key, tensor] of writeGpt2Body(state, dims, "conv1d", true)) out.set(PREFIX + key, tensor);
  if (!config.tied_embeddings) out.set("lm_head.weight", f32([dims.V, dims.d], transpose(state.get("unembed.W_U")!, dims.d, dims.V)));
  const foreignConfig = {
    architectures: ["GPT2LMHeadModel"], model_type: "gpt2",
    vocab_size: config.d_vocab, n_positions: config.n_ctx, n_embd: config.d_model, n_layer: config.n_layers,
    n_head: config.n_heads, n_inner: config.d_mlp === 4 * config.d_model ? null : config.d_mlp,
    activation_function: config.act_fn, layer_norm_epsilon: config.eps, tie_word_embeddings: config.tied_embeddings,
    scale_attn_weights: scale !== 1 || config.d_head === 1, scale_attn_by_inverse_layer_idx: false,
    reorder_and_upcast_attn: false, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0, initializer_range: config.init_range,
  };
  return { tensors: out, foreignConfig };
}
