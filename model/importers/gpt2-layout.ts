// The GPT-2 state-dict layout shared by nanoGPT and HF GPT-2 (spec model.md §5.3): `h.l.` blocks with a fused
// `attn.c_attn` [Q|K|V], identical names, differing only in weight orientation — nanoGPT's nn.Linear [out, in]
// versus HF's Conv1D [in, out]. Keys here carry no `transformer.` prefix; embeddings and lm_head (whose tying
// rules differ) are left to the callers.

import type { SafetensorsTensor } from "../safetensors.js";
import { f32, headsFromColumns, headsIntoColumns, readMatrix, writeMatrix } from "./layout.js";
import { zeros, type Architecture, type SourceReader } from "./source.js";

type Orientation = "linear" | "conv1d";

export interface Dims {
  L: number;
  d: number;
  H: number;
  dh: number;
  dm: number;
  V: number;
  nCtx: number;
}

export function dimsOf(arch: Pick<Architecture, "n_layers" | "d_model" | "n_heads" | "d_mlp" | "d_vocab" | "n_ctx">): Dims {
  const { n_layers: L, d_model: d, n_heads: H, d_mlp: dm, d_vocab: V, n_ctx: nCtx } = arch;
  return { L, d, H, dh: d / H, dm, V, nCtx };
}

/** Every bias of the layout (LayerNorm biases included: nanoGPT's bias=False drops them too). */
export function gpt2BiasKeys(L: number): string[] {
  const keys: string[] = [];
  for (let l = 0; l < L; l++) {
    keys.push(...["ln_1.bias", "attn.c_attn.bias", "attn.c_proj.bias", "ln_2.bias", "mlp.c_fc.bias", "mlp.c_proj.bias"].map((k) => `h.${l}.${k}`));
  }
  keys.push("ln_f.bias");
  return keys;
}

/** Reads `wpe`, every block and `ln_f` into §5.1 names; absent biases (useBias false) become zeros. */
export function readGpt2Body(reader: SourceReader, dims: Dims, orientation: Orientation, useBias: boolean, values: Map<string, Float32Array>): void {
  const { L, d, H, dh, dm, nCtx } = dims;
  const bias = (key: string, n: number): Float32Array => (useBias ? reader.take(key, [n]) : zeros(n));
  values.set("pos_embed.W_pos", reader.take("wpe.weight", [nCtx, d]));
  for (let l = 0; l < L; l++) {
    const [from, to] = [`h.${l}.`, `blocks.${l}.`];
    values.set(`${to}ln1.w`, reader.take(`${from}ln_1.weight`, [d]));
    values.set(`${to}ln1.b`, bias(`${from}ln_1.bias`, d));
    // spec §5.3: W_Q[h,m,e] = c_attn[m, h·dh+e] in in-out orientation; K and V at column offsets d and 2d
    const qkv = readMatrix(reader, `${from}attn.c_attn.weight`, orientation, d, 3 * d);
    const qkvBias = bias(`${from}attn.c_attn.bias`, 3 * d);
    ["Q", "K", "V"].forEach((name, part) => {
      values.set(`${to}attn.W_${name}`, headsFromColumns(qkv, 3 * d, part * d, H, d, dh));
      values.set(`${to}attn.b_${name}`, qkvBias.slice(part * d, (part + 1) * d));
    });
    // W_O[h,e,m] = c_proj[h·dh+e, m] in in-out orientation: [H·dh, d] is already [H, dh, d]
    values.set(`${to}attn.W_O`, readMatrix(reader, `${from}attn.c_proj.weight`, orientation, d, d));
    values.set(`${to}attn.b_O`, bias(`${from}attn.c_proj.bias`, d));
    values.set(`${to}ln2.w`, reader.take(`${from}ln_2.weight`, [d]));
    values.set(`${to}ln2.b`, bias(`${from}ln_2.bias`, d));
    values.set(`${to}mlp.W_in`, readMatrix(reader, `${from}mlp.c_fc.weight`, orientation, d, dm));
    values.set(`${to}mlp.b_in`, bias(`${from}mlp.c_fc.bias`, dm));
    values.set(`${to}mlp.W_out`, readMatrix(reader, `${from}mlp.c_proj.weight`, orientation, dm, d));
    values.set(`${to}mlp.b_out`, bias(`${from}mlp.c_proj.bias`, d));
  }
  values.set("ln_final.w", reader.take("ln_f.weight", [d]));
  values.set("ln_final.b", bias("ln_f.bias", d));
}

/** The inverse of readGpt2Body: `wpe`, blocks and `ln_f` in the foreign layout (biases only when withBiases). */
export function writeGpt2Body(state: ReadonlyMap<string, Float32Array>, dims: Dims, orientation: Orientation, withBiases: boolean): Map<string, SafetensorsTensor> {
  const { L, d, H, dh, dm, nCtx } = dims;
  const get = (name: string): Float32Array => state.get(name)!;
  const out = new Map<string, SafetensorsTensor>();
  const vector = (key: string, data: Float32Array): void => void out.set(key, f32([data.length], data.slice()));
  const bias = (key: string, data: Float32Array): void => {
    if (withBiases) vector(key, data);
  };
  out.set("wpe.weight", f32([nCtx, d], get("pos_embed.W_pos").slice()));
  for (let l = 0; l < L; l++) {
    const [from, to] = [`blocks.${l}.`, `h.${l}.`];
    vector(`${to}ln_1.weight`, get(`${from}ln1.w`));
    bias(`${to}ln_1.bias`, get(`${from}ln1.b`));
    const qkv = new Float32Array(d * 3 * d);
    const qkvBias = new Float32Array(3 * d);
    ["Q", "K", "V"].forEach((name, part) => {
      headsIntoColumns(get(`${from}attn.W_${name}`), qkv, 3 * d, part * d, H, d, dh);
      qkvBias.set(get(`${from}attn.b_${name}`), part * d);
    });
    out.set(`${to}attn.c_attn.weight`, writeMatrix(qkv, orientation, d, 3 * d));
    bias(`${to}attn.c_attn.bias`, qkvBias);
    out.set(`${to}attn.c_proj.weight`, writeMatrix(get(`${from}attn.W_O`), orientation, d, d));
    bias(`${to}attn.c_proj.bias`, get(`${from}attn.b_O`));
    vector(`${to}ln_2.weight`, get(`${from}ln2.w`));
    bias(`${to}ln_2.bias`, get(`${from}ln2.b`));
    out.set(`${to}mlp.c_fc.weight`, writeMatrix(get(`${from}mlp.W_in`), orientation, d, dm));
    bias(`${to}mlp.c_fc.bias`, get(`${from}mlp.b_in`));
    out.set(`${to}mlp.c_proj.weight`, writeMatrix(get(`${from}mlp.W_out`), orientation, dm, d));
    bias(`${to}mlp.c_proj.bias`, get(`${from}mlp.b_out`));
  }
  vector("ln_f.weight", get("ln_final.w"));
  bias("ln_f.bias", get("ln_final.b"));
  return out;
}
