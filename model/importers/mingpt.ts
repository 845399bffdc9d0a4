// minGPT as used by Li et al. (likenneth/othello_world mingpt/model.py) ↔ spec §5.1 (spec model.md §5.3):
// separate query/key/value nn.Linear [out, in], `pos_emb` [1, C, d], MLP as nn.Sequential (0: Linear, 2: Linear),
// untied bias-free `head`. The state dict records no config: sizes come from shapes, the head count from the user.

import { attentionScale, type GptConfig } from "../config.js";
import type { SafetensorsTensor } from "../safetensors.js";
import { f32, headsFromColumns, headsIntoColumns, readMatrix, transpose, writeMatrix } from "./layout.js";
import {
  allOrNone, buildConfig, ExportError, ImportError, modelState, nativeTensors, requireZeros, SourceReader, zeros,
  type ExportedState, type ImportedState, type ImportOptions,
} from "./source.js";

const ATTENTION = [["Q", "query"], ["K", "key"], ["V", "value"]] as const;

function normalise(key: string): string | null {
  return /^blocks\.\d+\.attn\.mask$/.test(key) ? null : key; // causal-mask buffer
}

function biasKeys(L: number): string[] {
  const keys: string[] = [];
  for (let l = 0; l < L; l++) {
    keys.push(...["ln1.bias", "attn.query.bias", "attn.key.bias", "attn.value.bias", "attn.proj.bias", "ln2.bias", "mlp.0.bias", "mlp.2.bias"].map((k) => `blocks.${l}.${k}`));
  }
  keys.push("ln_f.bias");
  return keys;
}

export function importMinGpt(tensors: ReadonlyMap<string, SafetensorsTensor>, options: ImportOptions, file: string): ImportedState {
  if (options.nHeads === undefined) {
    throw new ImportError("mingpt", file, "n_heads", "required: minGPT state dicts do not record the number of heads (8 for Li et al.'s Othello-GPT)");
  }
  const H = options.nHeads;
  if (!Number.isSafeInteger(H) || H <= 0) throw new ImportError("mingpt", file, "n_heads", `must be a positive integer, got ${H}`);
  const reader = new SourceReader("mingpt", file, tensors, normalise);
  const [V, d] = reader.requireShape("tok_emb.weight", 2);
  const nCtx = reader.requireShape("pos_emb", 3)[1];
  const layers = reader.blockIndices("blocks.");
  if (layers.length === 0) reader.fail("blocks.0.ln1.weight", "missing: the state dict has no blocks");
  const L = layers[layers.length - 1] + 1;
  const dm = reader.requireShape("blocks.0.mlp.0.weight", 2)[0];
  if (d % H !== 0) throw new ImportError("mingpt", file, "n_heads", `${H} heads do not divide d_model ${d} (from tok_emb.weight)`);
  const dh = d / H;

  const useBias = allOrNone(reader, biasKeys(L), "biases");
  const bias = (key: string, n: number): Float32Array => (useBias ? reader.take(key, [n]) : zeros(n));
  const values = new Map<string, Float32Array>([
    ["embed.W_E", reader.take("tok_emb.weight", [V, d])],
    ["pos_embed.W_pos", reader.take("pos_emb", [1, nCtx, d])], // [1, C, d] → [C, d]: same values
  ]);
  for (let l = 0; l < L; l++) {
    const b = `blocks.${l}.`;
    values.set(`${b}ln1.w`, reader.take(`${b}ln1.weight`, [d]));
    values.set(`${b}ln1.b`, bias(`${b}ln1.bias`, d));
    for (const [name, source] of ATTENTION) {
      // spec §5.3: W_Q[h,m,e] = query.weight[h·dh+e, m]
      values.set(`${b}attn.W_${name}`, headsFromColumns(readMatrix(reader, `${b}attn.${source}.weight`, "linear", d, d), d, 0, H, d, dh));
      values.set(`${b}attn.b_${name}`, bias(`${b}attn.${source}.bias`, d));
    }
    values.set(`${b}attn.W_O`, readMatrix(reader, `${b}attn.proj.weight`, "linear", d, d)); // W_O[h,e,m] = proj.weight[m, h·dh+e]
    values.set(`${b}attn.b_O`, bias(`${b}attn.proj.bias`, d));
    values.set(`${b}ln2.w`, reader.take(`${b}ln2.weight`, [d]));
    values.set(`${b}ln2.b`, bias(`${b}ln2.bias`, d));
    values.set(`${b}mlp.W_in`, readMatrix(reader, `${b}mlp.0.weight`, "linear", d, dm));
    values.set(`${b}mlp.b_in`, bias(`${b}mlp.0.bias`, dm));
    values.set(`${b}mlp.W_out`, readMatrix(reader, `${b}mlp.2.weight`, "linear", dm, d));
    values.set(`${b}mlp.b_out`, bias(`${b}mlp.2.bias`, d));
  }
  values.set("ln_final.w", reader.take("ln_f.weight", [d]));
  values.set("ln_final.b", bias("ln_f.bias", d));
  values.set("unembed.W_U", readMatrix(reader, "head.weight", "linear", d, V));
  values.set("unembed.b_U", zeros(V));
  reader.finish();

  const config = buildConfig("mingpt", file, {
    n_layers: L, d_model: d, n_heads: H, d_mlp: dm, d_vocab: V, n_ctx: nCtx, act_fn: "gelu", eps: 1e-5,
    attn_scale: null, use_bias: useBias, tied_embeddings: false, normalization_type: "LN",
  }, options);
  return { config, tensors: nativeTensors(config, values) };
}

/**
 * minGPT's state dict (without the mask buffers) and its GPTConfig kwargs. minGPT always has biases and an
 * untied head: a bias-free model writes zero biases, a tied one writes head.weight as a copy of tok_emb.
 */
export function exportMinGpt(config: GptConfig, tensors: ReadonlyMap<string, SafetensorsTensor>): ExportedState {
  const state = modelState("mingpt", config, tensors);
  const reject = (field: string, message: string): never => {
    throw new ExportError("mingpt", field, message);
  };
  if (config.act_fn !== "gelu") reject("act_fn", `minGPT uses exact GELU, got ${config.act_fn}`);
  if (config.eps !== 1e-5) reject("eps", `minGPT's LayerNorm eps is 1e-5, got ${config.eps}`);
  if (attentionScale(config) !== Math.sqrt(config.d_head)) reject("attn_scale", `minGPT divides scores by √d_head, got ${config.attn_scale}`);
  requireZeros("mingpt", state, ["unembed.b_U"], "minGPT's head has no bias");
  const { n_layers: L, d_model: d, n_heads: H, d_head: dh, d_mlp: dm, d_vocab: V, n_ctx: nCtx } = config;
  const get = (name: string): Float32Array => state.get(name)!;
  const out = new Map<string, SafetensorsTensor>();
  const vector = (key: string, name: string): void => void out.set(key, f32([get(name).length], get(name).slice()));
  out.set("tok_emb.weight", f32([V, d], get("embed.W_E").slice()));
  out.set("pos_emb", f32([1, nCtx, d], get("pos_embed.W_pos").slice()));
  for (let l = 0; l < L; l++) {
    const b = `blocks.${l}.`;
    vector(`${b}ln1.weight`, `${b}ln1.w`);
    vector(`${b}ln1.bias`, `${b}ln1.b`);
    for (const [name, source] of ATTENTION) {
      const matrix = new Float32Array(d * d);
      headsIntoColumns(get(`${b}attn.W_${name}`), matrix, d, 0, H, d, dh);
      out.set(`${b}attn.${source}.weight`, writeMatrix(matrix, "linear", d, d));
      vector(`${b}attn.${source}.bias`, `${b}attn.b_${name}`);
    }
    out.set(`${b}attn.proj.weight`, writeMatrix(get(`${b}attn.W_O`), "linear", d, d));
    vector(`${b}attn.proj.bias`, `${b}attn.b_O`);
    vector(`${b}ln2.weight`, `${b}ln2.w`);
    vector(`${b}ln2.bias`, `${b}ln2.b`);
    out.set(`${b}mlp.0.weight`, writeMatrix(get(`${b}mlp.W_in`), "linear", d, dm));
    vector(`${b}mlp.0.bias`, `${b}mlp.b_in`);
    out.set(`${b}mlp.2.weight`, writeMatrix(get(`${b}mlp.W_out`), "linear", dm, d));
    vector(`${b}mlp.2.bias`, `${b}mlp.b_out`);
  }
  vector("ln_f.weight", "ln_final.w");
  vector("ln_f.bias", "ln_final.b");
  const head = config.tied_embeddings ? get("embed.W_E").slice() : transpose(get("unembed.W_U"), d, V);
  out.set("head.weight", f32([V, d], head));
  return { tensors: out, foreignConfig: { vocab_size: V, block_size: nCtx, n_layer: L, n_head: H, n_embd: d } };
}
