// Parameter names and shapes (spec model.md §5.1, TransformerLens state dict) and their seeded init (spec §4).

import type * as tfTypes from "@tensorflow/tfjs";
import { xoshiro128, type RandomStream } from "../boards/random.js";
import type { GptConfig } from "./config.js";

export type GptParameters = Map<string, tfTypes.Variable>;

type InitRule = "normal" | "residual-normal" | "zeros" | "ones";

interface ParameterSpec {
  name: string;
  shape: number[];
  init: InitRule;
  /** Biases when use_bias is false stay 0 and are frozen (nanoGPT bias=False). */
  trainable: boolean;
}

/** Every parameter of the model in a fixed order: names and shapes exactly as spec §5.1. */
export function parameterSpecs(config: GptConfig): ParameterSpec[] {
  const { d_vocab: V, d_model: d, n_ctx, n_heads: H, d_head: dh, d_mlp: dm } = config;
  const bias = (name: string, shape: number[]): ParameterSpec => ({ name, shape, init: "zeros", trainable: config.use_bias });
  const weight = (name: string, shape: number[], init: InitRule = "normal"): ParameterSpec => ({ name, shape, init, trainable: true });
  const specs = [weight("embed.W_E", [V, d]), weight("pos_embed.W_pos", [n_ctx, d])];
  for (let l = 0; l < config.n_layers; l++) {
    const b = `blocks.${l}`;
    specs.push(
      weight(`${b}.ln1.w`, [d], "ones"), bias(`${b}.ln1.b`, [d]),
      weight(`${b}.attn.W_Q`, [H, d, dh]), weight(`${b}.attn.W_K`, [H, d, dh]), weight(`${b}.attn.W_V`, [H, d, dh]),
      bias(`${b}.attn.b_Q`, [H, dh]), bias(`${b}.attn.b_K`, [H, dh]), bias(`${b}.attn.b_V`, [H, dh]),
      weight(`${b}.attn.W_O`, [H, dh, d], "residual-normal"), bias(`${b}.attn.b_O`, [d]),
      weight(`${b}.ln2.w`, [d], "ones"), bias(`${b}.ln2.b`, [d]),
      weight(`${b}.mlp.W_in`, [d, dm]), bias(`${b}.mlp.b_in`, [dm]),
      weight(`${b}.mlp.W_out`, [dm, d], "residual-normal"), bias(`${b}.mlp.b_out`, [d]),
    );
  }
  specs.push(weight("ln_final.w", [d], "ones"), bias("ln_final.b", [d]));
  if (!config.tied_embeddings) specs.push(weight("unembed.W_U", [d, V]));
  specs.push(bias("unembed.b_U", [V]));
  return specs;
}

/** Standard normal samples by Box-Muller from a uniform uint32 stream (both outputs of each pair used). */
export function fillNormal(random: RandomStream, out: Float32Array, std: number): Float32Array {
  for (let i = 0; i < out.length; i += 2) {
    const u1 = (random() + 1) / 4294967296; // (0, 1]: log never sees 0
    const u2 = random() / 4294967296;
    const radius = Math.sqrt(-2 * Math.log(u1)) * std;
    out[i] = radius * Math.cos(2 * Math.PI * u2);
    if (i + 1 < out.length) out[i + 1] = radius * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/**
 * nanoGPT init (spec §4): matrices and embeddings N(0, init_range²), W_O and W_out N(0, (init_range/√(2L))²),
 * biases 0, LN w 1 / b 0. Parameter i draws from its own xoshiro128 stream (seed, i), so its values do not
 * depend on the parameters before it.
 */
export function initParameters(tf: typeof tfTypes, config: GptConfig): GptParameters {
  const residualStd = config.init_range / Math.sqrt(2 * config.n_layers);
  const params: GptParameters = new Map();
  parameterSpecs(config).forEach((spec, index) => {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    let values: Float32Array;
    if (spec.init === "normal") values = fillNormal(xoshiro128(index, config.seed >>> 0), new Float32Array(size), config.init_range);
    else if (spec.init === "residual-normal") values = fillNormal(xoshiro128(index, config.seed >>> 0), new Float32Array(size), residualStd);
    else values = new Float32Array(size).fill(spec.init === "ones" ? 1 : 0);
    params.set(spec.name, tf.tidy(() => tf.variable(tf.tensor(values, spec.shape, "float32"), spec.trainable))); // unnamed: tfjs variable names are global
  });
  return params;
}
