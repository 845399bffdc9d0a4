// nanoGPT (karpathy/nanoGPT model.py) state dicts ↔ spec §5.1 (spec model.md §5.3): GPT-2 layout with
// nn.Linear [out, in] weights under `transformer.`, `_orig_mod.` from torch.compile stripped, lm_head tied to wte,
// config from the checkpoint's `model_args`; bias=False drops every bias, LayerNorm's included.

import { attentionScale, type GptConfig } from "../config.js";
import type { SafetensorsTensor } from "../safetensors.js";
import { dimsOf, gpt2BiasKeys, readGpt2Body, writeGpt2Body } from "./gpt2-layout.js";
import { f32, sameBits, transpose } from "./layout.js";
import {
  allOrNone, biasNames, buildConfig, ExportError, ForeignConfig, ImportError, modelState, nativeTensors, requireZeros,
  SourceReader, zeros, type ExportedState, type ImportedState, type ImportOptions,
} from "./source.js";

const MODEL_ARGS_FIELDS = ["n_layer", "n_head", "n_embd", "block_size", "bias", "vocab_size", "dropout"];
const COMPILED_PREFIX = "_orig_mod.";
const PREFIX = "transformer.";

/** Normalised key: `_orig_mod.` and `transformer.` removed (lm_head sits outside `transformer.`). */
function normalise(original: string): string | null {
  const key = original.startsWith(COMPILED_PREFIX) ? original.slice(COMPILED_PREFIX.length) : original;
  if (key === "lm_head.weight") return key;
  if (!key.startsWith(PREFIX) || key === `${PREFIX}lm_head.weight`) return `!${original}`; // never asked for: reported as unknown
  const inner = key.slice(PREFIX.length);
  return /^h\.\d+\.attn\.bias$/.test(inner) ? null : inner; // the causal-mask buffer (non-flash attention)
}

export function importNanoGpt(tensors: ReadonlyMap<string, SafetensorsTensor>, options: ImportOptions, file: string): ImportedState {
  if (!options.modelArgs) {
    throw new ImportError("nanogpt", file, "model_args", "required: pass the checkpoint's model_args {n_layer, n_head, n_embd, block_size, bias, vocab_size}");
  }
  const args = new ForeignConfig("nanogpt", `model_args of ${file}`, options.modelArgs);
  for (const field of Object.keys(options.modelArgs)) {
    if (!MODEL_ARGS_FIELDS.includes(field)) args.fail(field, `unknown model_args field; nanoGPT's are ${MODEL_ARGS_FIELDS.join(", ")}`);
  }
  const d = args.int("n_embd");
  const arch = {
    n_layers: args.int("n_layer"), d_model: d, n_heads: args.int("n_head"), d_mlp: 4 * d,
    d_vocab: args.int("vocab_size"), n_ctx: args.int("block_size"),
  };
  const dims = dimsOf(arch);
  const reader = new SourceReader("nanogpt", file, tensors, normalise, (key) => (key === "lm_head.weight" ? key : PREFIX + key));

  const useBias = allOrNone(reader, gpt2BiasKeys(dims.L), "biases");
  if (args.has("bias") && args.bool("bias", true) !== useBias) {
    args.fail("bias", `disagrees with the tensors, which have ${useBias ? "" : "no "}biases`);
  }
  // nanoGPT ties lm_head to wte; a safetensors copy may hold both (equal) or only one of them.
  const wte = reader.takeIfPresent("wte.weight", [dims.V, d]);
  const lmHead = reader.takeIfPresent("lm_head.weight", [dims.V, d]);
  const embedding = wte ?? lmHead ?? reader.take("wte.weight", [dims.V, d]);
  const tied = !wte || !lmHead || sameBits(wte, lmHead);
  const values = new Map<string, Float32Array>([["embed.W_E", embedding]]);
  readGpt2Body(reader, dims, "linear", useBias, values);
  if (!tied) values.set("unembed.W_U", transpose(lmHead!, dims.V, d));
  values.set("unembed.b_U", zeros(dims.V));
  reader.finish();

  const config = buildConfig("nanogpt", file, {
    ...arch, act_fn: "gelu", eps: 1e-5, attn_scale: null, use_bias: useBias, tied_embeddings: tied, normalization_type: "LN",
  }, options);
  return { config, tensors: nativeTensors(config, values) };
}

/** nanoGPT's state dict (lm_head written as a copy of wte, as its state_dict holds both) and model_args. */
export function exportNanoGpt(config: GptConfig, tensors: ReadonlyMap<string, SafetensorsTensor>): ExportedState {
  const state = modelState("nanogpt", config, tensors);
  const dims = dimsOf(config);
  const reject = (field: string, message: string): never => {
    throw new ExportError("nanogpt", field, message);
  };
  if (config.d_mlp !== 4 * config.d_model) reject("d_mlp", `nanoGPT's MLP width is 4·d_model = ${4 * config.d_model}, got ${config.d_mlp}`);
  if (config.act_fn !== "gelu") reject("act_fn", `nanoGPT uses exact GELU, got ${config.act_fn}`);
  if (config.eps !== 1e-5) reject("eps", `nanoGPT's LayerNorm eps is 1e-5, got ${config.eps}`);
  if (attentionScale(config) !== Math.sqrt(config.d_head)) reject("attn_scale", `nanoGPT divides scores by √d_head, got ${config.attn_scale}`);
  if (!config.tied_embeddings) reject("tied_embeddings", "nanoGPT ties lm_head to wte on load; an untied model cannot be written as nanoGPT");
  if (config.use_bias) requireZeros("nanogpt", state, ["unembed.b_U"], "nanoGPT's lm_head has no bias");
  else requireZeros("nanogpt", state, biasNames(config, { layerNorm: true }), "nanoGPT with bias=False has no biases");

  const out = new Map<string, SafetensorsTensor>();
  out.set(`${PREFIX}wte.weight`, f32([dims.V, dims.d], state.get("embed.W_E")!.slice()));
  for (const [key, tensor] of writeGpt2Body(state, dims, "linear", config.use_bias)) out.set(PREFIX + key, tensor);
  out.set("lm_head.weight", f32([dims.V, dims.d], state.get("embed.W_E")!.slice()));
  const foreignConfig = {
    n_layer: config.n_layers, n_head: config.n_heads, n_embd: config.d_model, block_size: config.n_ctx,
    bias: config.use_bias, vocab_size: config.d_vocab, dropout: 0,
  };
  return { tensors: out, foreignConfig };
}
