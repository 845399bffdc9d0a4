// TransformerLens HookedTransformer state dicts ↔ spec §5.1 (spec model.md §5.3): the same names and shapes, so
// tensors load by identity; sizes come from the shapes, the rest from an optional HookedTransformerConfig dict.
// Absent LayerNorm weights (folded LN, normalization_type "LNPre") load as w = 1, b = 0.

import { attentionScale, type GptConfig } from "../config.js";
import { parameterSpecs } from "../init.js";
import type { SafetensorsTensor } from "../safetensors.js";
import { f32 } from "./layout.js";
import {
  allOrNone, buildConfig, ExportError, ForeignConfig, isAll, modelState, nativeTensors, ones, SourceReader, zeros,
  type ExportedState, type ImportedState, type ImportOptions,
} from "./source.js";

const ACTIVATIONS: Record<string, GptConfig["act_fn"]> = { gelu: "gelu", gelu_new: "gelu_new", gelu_pytorch_tanh: "gelu_new" };

/** HookedTransformerConfig options that change the computation into something this GPT is not. */
const UNSUPPORTED: [field: string, isUnsupported: (value: unknown) => boolean, what: string][] = [
  ["attn_only", (v) => v === true, "attention-only models"],
  ["parallel_attn_mlp", (v) => v === true, "parallel attention and MLP"],
  ["gated_mlp", (v) => v === true, "gated MLPs"],
  ["final_rms", (v) => v === true, "RMS normalization"],
  ["use_local_attn", (v) => v === true, "local attention"],
  ["use_qk_norm", (v) => v === true, "QK normalization"],
  ["scale_attn_by_inverse_layer_idx", (v) => v === true, "per-layer score scaling"],
  ["attention_dir", (v) => v !== "causal", "non-causal attention"],
  ["positional_embedding_type", (v) => v !== "standard", "positional embeddings other than standard"],
  ["n_key_value_heads", (v) => v !== null, "grouped-query attention"],
];

const SHAPE_FIELDS = ["n_layers", "d_model", "n_heads", "d_head", "d_mlp", "d_vocab", "n_ctx"] as const;

function normalise(key: string): string | null {
  return /^blocks\.\d+\.attn\.(mask|IGNORE)$/.test(key) ? null : key; // buffers
}

/** Attention, MLP and unembedding biases. */
function biasNames(L: number): string[] {
  const perBlock = ["attn.b_Q", "attn.b_K", "attn.b_V", "attn.b_O", "mlp.b_in", "mlp.b_out"];
  return [...Array.from({ length: L }, (_, l) => perBlock.map((name) => `blocks.${l}.${name}`)).flat(), "unembed.b_U"];
}

/** LayerNorm parameters of the model, weights and biases. */
function layerNormNames(L: number): string[] {
  const sites = [...Array.from({ length: L }, (_, l) => [`blocks.${l}.ln1`, `blocks.${l}.ln2`]).flat(), "ln_final"];
  return sites.flatMap((site) => [`${site}.w`, `${site}.b`]);
}

export function importTransformerLens(tensors: ReadonlyMap<string, SafetensorsTensor>, options: ImportOptions, file: string): ImportedState {
  const cfg: ForeignConfig = new ForeignConfig("transformer-lens", `HookedTransformerConfig of ${file}`, options.tlConfig ?? {});
  for (const [field, isUnsupported, what] of UNSUPPORTED) {
    if (cfg.values[field] !== undefined && isUnsupported(cfg.values[field])) cfg.fail(field, `${what} are not supported`);
  }
  const reader = new SourceReader("transformer-lens", file, tensors, normalise);
  const [V, d] = reader.requireShape("embed.W_E", 2);
  const [H, , dh] = reader.requireShape("blocks.0.attn.W_Q", 3);
  if (H * dh !== d) reader.fail("blocks.0.attn.W_Q", `n_heads·d_head = ${H}·${dh} must equal d_model ${d} (from embed.W_E)`);
  const layers = reader.blockIndices("blocks.");
  const inferred = {
    n_layers: layers[layers.length - 1] + 1, d_model: d, n_heads: H, d_head: dh,
    d_mlp: reader.requireShape("blocks.0.mlp.W_in", 2)[1], d_vocab: V, n_ctx: reader.requireShape("pos_embed.W_pos", 2)[0],
  };
  for (const field of SHAPE_FIELDS) {
    if (cfg.has(field) && cfg.values[field] !== inferred[field]) cfg.fail(field, `disagrees with the tensors, which give ${inferred[field]}`);
  }
  const actFn = ACTIVATIONS[cfg.string("act_fn", "gelu")] ?? cfg.fail("act_fn", `not supported; use one of ${Object.keys(ACTIVATIONS).join(", ")}`);

  const lnNames = layerNormNames(inferred.n_layers);
  const hasLayerNorm = allOrNone(reader, lnNames, "LayerNorm parameters");
  if (cfg.values.normalization_type === null) cfg.fail("normalization_type", "models without LayerNorm are not supported");
  const normalization = cfg.string("normalization_type", hasLayerNorm ? "LN" : "LNPre");
  if (normalization !== "LN" && normalization !== "LNPre") cfg.fail("normalization_type", 'only "LN" and "LNPre" are supported');
  if ((normalization === "LN") !== hasLayerNorm) {
    cfg.fail("normalization_type", `disagrees with the tensors, which ${hasLayerNorm ? "have" : "have no"} LayerNorm weights`);
  }
  const biases = biasNames(inferred.n_layers);
  const useBias = allOrNone(reader, biases, "biases");

  const attnScale = cfg.bool("use_attn_scale", true) ? cfg.number("attn_scale", -1) : 1;
  const config = buildConfig("transformer-lens", file, {
    ...inferred, tied_embeddings: !reader.has("unembed.W_U"), act_fn: actFn, eps: cfg.number("eps", 1e-5),
    use_bias: useBias, normalization_type: normalization,
    attn_scale: attnScale === -1 || attnScale === Math.sqrt(dh) ? null : attnScale, // TL's -1 means √d_head
  }, options);

  const values = new Map<string, Float32Array>();
  for (const spec of parameterSpecs(config)) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (!hasLayerNorm && lnNames.includes(spec.name)) values.set(spec.name, spec.name.endsWith(".w") ? ones(size) : zeros(size));
    else if (!useBias && biases.includes(spec.name)) values.set(spec.name, zeros(size));
    else values.set(spec.name, reader.take(spec.name, spec.shape));
  }
  reader.finish();
  return { config, tensors: nativeTensors(config, values) };
}

/**
 * The TransformerLens state dict (our §5.1 tensors; LNPre models omit their identity LayerNorms, tied models
 * W_U) and the HookedTransformerConfig fields that describe it.
 */
export function exportTransformerLens(config: GptConfig, tensors: ReadonlyMap<string, SafetensorsTensor>): ExportedState {
  const state = modelState("transformer-lens", config, tensors);
  const lnNames = layerNormNames(config.n_layers);
  const out = new Map<string, SafetensorsTensor>();
  for (const spec of parameterSpecs(config)) {
    const data = state.get(spec.name)!;
    if (config.normalization_type === "LNPre" && lnNames.includes(spec.name)) {
      if (!isAll(data, spec.name.endsWith(".w") ? 1 : 0)) {
        throw new ExportError("transformer-lens", spec.name, "normalization_type LNPre needs LayerNorm w = 1 and b = 0 (TransformerLens has no affine there)");
      }
      continue;
    }
    out.set(spec.name, f32([...spec.shape], data.slice()));
  }
  const foreignConfig = {
    model_name: config.model_name, n_layers: config.n_layers, d_model: config.d_model, n_heads: config.n_heads,
    d_head: config.d_head, d_mlp: config.d_mlp, d_vocab: config.d_vocab, n_ctx: config.n_ctx, act_fn: config.act_fn,
    eps: config.eps, normalization_type: config.normalization_type, positional_embedding_type: "standard",
    use_attn_scale: true, attn_scale: attentionScale(config),
  };
  return { tensors: out, foreignConfig };
}
