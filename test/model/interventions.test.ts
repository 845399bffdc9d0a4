// The intervention API (spec model.md §6) held against a float64 loop implementation of spec §1 written here:
// forward values at every hook, gradients at every hook against central finite differences, replacement, patching,
// stop-gradient and pass-through, taps, SAE splicing, stopAt, per-row interventions, masked means and hygiene.

import type * as tfTypes from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initTfjs } from "../../compute/tfjs.js";
import { attentionScale, presetConfig, type GptConfig } from "../../model/config.js";
import { createGpt, disposeGpt, hookNames, runWithCache, UnknownHookError, type Gpt } from "../../model/gpt.js";
import {
  errorKey, featuresKey, gradients, HookShapeError, hookShape, InterventionError, maskedMean, maskedMeanByPosition,
  mergeHooks, realPositionMask, run, spliceSaes, type HookFn, type RunOut, type SpliceableSae,
} from "../../model/interventions.js";
import { randomArray, seededRandom } from "../compute/random.js";

type Tensor = tfTypes.Tensor;
let tf: typeof tfTypes;
let model: Gpt;
let config: GptConfig;
const [B, T] = [2, 6];
const LENGTHS = [6, 4];
const [first, second] = ["blocks.0.hook_resid_post", "blocks.1.hook_mlp_out"]; // SAE splice sites

beforeAll(async () => {
  tf = (await initTfjs()).tf;
  config = presetConfig("othello-2l-64", 5);
  model = createGpt(tf, config);
  // O(1) random parameters (biases and LN included) so that no path through the model is negligible.
  let seed = 1000;
  for (const [name, variable] of model.params) {
    const values = randomArray(variable.size, seed++, 0.25);
    if (/ln.*\.w$/.test(name)) values.forEach((v, i) => (values[i] = 1 + v));
    variable.assign(tf.tensor(values, variable.shape));
  }
});
afterAll(() => disposeGpt(model));

/** Right-padded token ids: real positions drawn from 1..60, padding 0. */
function tokenIds(seed: number): number[][] {
  const next = seededRandom(seed);
  return LENGTHS.map((length) => Array.from({ length: T }, (_, t) => (t < length ? 1 + Math.floor(next() * 60) : 0)));
}
const tokensOf = (ids: number[][]) => tf.tensor2d(ids, [ids.length, T], "int32");

function bits(t: Tensor): Uint32Array {
  return new Uint32Array(Float32Array.from(t.dataSync() as Float32Array).buffer);
}
function expectSameBits(actual: Tensor, expected: Tensor, what: string): void {
  expect(actual.shape, what).toEqual(expected.shape);
  const [a, b] = [bits(actual), bits(expected)];
  expect(a.findIndex((word, i) => word !== b[i]), `${what}: first differing element`).toBe(-1);
}
function maxAbs(values: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) worst = Math.max(worst, Math.abs(values[i]));
  return worst;
}
/** max |a − e| ≤ tolerance · max(1, max |e|); equal infinities count as equal. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) if (actual[i] !== expected[i]) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  expect(worst, what).toBeLessThanOrEqual(tolerance * Math.max(1, maxAbs(expected)));
}

// ── float64 reference: spec §1 as plain loops ────────────────────────────────────────────────────────────────────

/** erf to double precision: 2/√π·e^(−x²)·Σ 2ⁿx^(2n+1)/(1·3·…·(2n+1)), all terms positive (no cancellation). */
function erf64(x: number): number {
  const a = Math.abs(x);
  if (a > 6) return Math.sign(x);
  let term = a;
  let sum = a;
  for (let n = 1; term > 1e-17 * sum; n++) {
    term *= (2 * a * a) / (2 * n + 1);
    sum += term;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-a * a) * sum;
}

type Params64 = Map<string, Float64Array>;
const params64 = (m: Gpt): Params64 => new Map([...m.params].map(([name, v]) => [name, Float64Array.from(v.dataSync())]));

/**
 * The spec §1 forward pass in float64. `edit` sees each hook's activation (flat, row-major) and may change it in
 * place; `record` keeps a copy of every hook's value (after the edit). Returns logits [B, T, V] flat.
 */
function reference64(
  P: Params64, ids: number[][], edit?: (name: string, values: Float64Array) => void, record = false,
): { logits: Float64Array; acts: Map<string, Float64Array> } {
  const { n_layers: L, d_model: d, n_heads: H, d_head: dh, d_mlp: dm, d_vocab: V, eps } = config;
  const [rows, len] = [ids.length, ids[0].length];
  const N = rows * len;
  const acts = new Map<string, Float64Array>();
  const hook = (name: string, values: Float64Array) => {
    edit?.(name, values);
    if (record) acts.set(name, values.slice());
    return values;
  };
  const p = (name: string) => P.get(name)!;
  const linear = (x: Float64Array, w: Float64Array, n: number, m: number, b?: Float64Array) => {
    const y = new Float64Array(N * m);
    for (let i = 0; i < N; i++) {
      for (let k = 0; k < n; k++) for (let j = 0; j < m; j++) y[i * m + j] += x[i * n + k] * w[k * m + j];
      if (b) for (let j = 0; j < m; j++) y[i * m + j] += b[j];
    }
    return y;
  };
  const add = (a: Float64Array, b: Float64Array): Float64Array => a.map((v, i) => v + b[i]);
  const layerNorm = (x: Float64Array, prefix: string) => {
    const centred = new Float64Array(N * d);
    const scale = new Float64Array(N);
    for (let n = 0; n < N; n++) {
      let mean = 0;
      for (let j = 0; j < d; j++) mean += x[n * d + j] / d;
      let variance = 0;
      for (let j = 0; j < d; j++) variance += (centred[n * d + j] = x[n * d + j] - mean) ** 2 / d;
      scale[n] = Math.sqrt(variance + eps);
    }
    hook(`${prefix}.hook_scale`, scale);
    const normalized = hook(`${prefix}.hook_normalized`, centred.map((c, i) => c / scale[Math.floor(i / d)]));
    const [w, b] = [p(`${prefix}.w`), p(`${prefix}.b`)];
    return normalized.map((u, i) => u * w[i % d] + b[i % d]);
  };
  // W [H, d, dh] → [d, H·dh] so that x·W gives [N, H, dh]
  const headMatrix = (w: Float64Array) => {
    const out = new Float64Array(d * H * dh);
    for (let h = 0; h < H; h++) {
      for (let m = 0; m < d; m++) for (let e = 0; e < dh; e++) out[m * H * dh + h * dh + e] = w[(h * d + m) * dh + e];
    }
    return out;
  };

  const embed = new Float64Array(N * d);
  const pos = new Float64Array(N * d);
  const [WE, Wpos] = [p("embed.W_E"), p("pos_embed.W_pos")];
  for (let b = 0; b < rows; b++) {
    for (let t = 0; t < len; t++) {
      for (let j = 0; j < d; j++) {
        embed[(b * len + t) * d + j] = WE[ids[b][t] * d + j];
        pos[(b * len + t) * d + j] = Wpos[t * d + j];
      }
    }
  }
  let x: Float64Array = add(hook("hook_embed", embed), hook("hook_pos_embed", pos));
  for (let l = 0; l < L; l++) {
    const blk = `blocks.${l}`;
    x = hook(`${blk}.hook_resid_pre`, x);
    const n1 = layerNorm(x, `${blk}.ln1`);
    const project = (name: string) => hook(`${blk}.attn.hook_${name.toLowerCase()}`,
      linear(n1, headMatrix(p(`${blk}.attn.W_${name}`)), d, H * dh, p(`${blk}.attn.b_${name}`)));
    const [q, k, v] = [project("Q"), project("K"), project("V")];
    const at = (b: number, t: number, h: number, e: number) => ((b * len + t) * H + h) * dh + e; // [B,T,H,dh]
    const sq = (b: number, h: number, i: number, j: number) => ((b * H + h) * len + i) * len + j; // [B,H,T,T]
    const scores = new Float64Array(rows * H * len * len);
    for (let b = 0; b < rows; b++) for (let h = 0; h < H; h++) for (let i = 0; i < len; i++) for (let j = 0; j < len; j++) {
      let s = 0;
      for (let e = 0; e < dh; e++) s += q[at(b, i, h, e)] * k[at(b, j, h, e)];
      scores[sq(b, h, i, j)] = j > i ? -Infinity : s / attentionScale(config);
    }
    hook(`${blk}.attn.hook_attn_scores`, scores);
    const pattern = new Float64Array(scores.length);
    for (let r = 0; r < scores.length; r += len) {
      let max = -Infinity;
      for (let j = 0; j < len; j++) max = Math.max(max, scores[r + j]);
      let sum = 0;
      for (let j = 0; j < len; j++) sum += pattern[r + j] = Math.exp(scores[r + j] - max);
      for (let j = 0; j < len; j++) pattern[r + j] /= sum;
    }
    hook(`${blk}.attn.hook_pattern`, pattern);
    const z = new Float64Array(N * H * dh);
    for (let b = 0; b < rows; b++) for (let h = 0; h < H; h++) for (let i = 0; i < len; i++) for (let j = 0; j < len; j++) {
      for (let e = 0; e < dh; e++) z[at(b, i, h, e)] += pattern[sq(b, h, i, j)] * v[at(b, j, h, e)];
    }
    hook(`${blk}.attn.hook_z`, z);
    const attnOut = hook(`${blk}.hook_attn_out`, linear(z, p(`${blk}.attn.W_O`), H * dh, d, p(`${blk}.attn.b_O`)));
    const mid = hook(`${blk}.hook_resid_mid`, add(x, attnOut));
    const pre = hook(`${blk}.mlp.hook_pre`, linear(layerNorm(mid, `${blk}.ln2`), p(`${blk}.mlp.W_in`), d, dm, p(`${blk}.mlp.b_in`)));
    const post = hook(`${blk}.mlp.hook_post`, pre.map((u) => 0.5 * u * (1 + erf64(u / Math.SQRT2))));
    const mlpOut = hook(`${blk}.hook_mlp_out`, linear(post, p(`${blk}.mlp.W_out`), dm, d, p(`${blk}.mlp.b_out`)));
    x = hook(`${blk}.hook_resid_post`, add(mid, mlpOut));
  }
  const logits = linear(layerNorm(x, "ln_final"), p("unembed.W_U"), d, V, p("unembed.b_U"));
  return { logits, acts };
}

/** Metric weights [B, T, V], zero at padding: m_b = Σ_{t < len_b, v} w[b,t,v]·logits[b,t,v]. */
function metricWeights(seed: number): Float64Array {
  const V = config.d_vocab;
  const w = Float64Array.from(randomArray(B * T * V, seed));
  for (let b = 0; b < B; b++) for (let t = LENGTHS[b]; t < T; t++) w.fill(0, (b * T + t) * V, (b * T + t + 1) * V);
  return w;
}

describe("float64 reference and finite differences (spec §6 acceptance)", () => {
  it("the hooked forward matches the float64 loop forward at every hook, and the shapes are hookShape's", () => {
    const ids = tokenIds(1);
    const tokens = tokensOf(ids);
    const names = hookNames(config);
    const { logits, cache } = run(model, tokens, LENGTHS, { cache: names });
    const expected = reference64(params64(model), ids, undefined, true);
    for (const name of names) {
      expect(cache.get(name)!.shape, name).toEqual(hookShape(config, name, B, T));
      expectClose(cache.get(name)!.dataSync(), expected.acts.get(name)!, 1e-5, name);
    }
    expectClose(logits!.dataSync(), expected.logits, 1e-5, "logits");
    tf.dispose([tokens, logits!, ...cache.values()]);
  });

  it("gradients at every hook agree with central finite differences (ε = 1e-3) of the float64 forward to 1e-3", () => {
    const ids = tokenIds(2);
    const tokens = tokensOf(ids);
    const names = hookNames(config);
    const w64 = metricWeights(3);
    const w = tf.tensor(Float32Array.from(w64), [B, T, config.d_vocab]);
    const out = gradients(model, tokens, LENGTHS, (o) => o.logits!.mul(w).sum([1, 2]), { at: names });
    const P = params64(model);
    const metric64 = (edit?: (name: string, values: Float64Array) => void) =>
      reference64(P, ids, edit).logits.reduce((sum, l, i) => sum + l * w64[i], 0);
    const perRow = reference64(P, ids).logits;
    const V = config.d_vocab;
    for (let b = 0; b < B; b++) {
      const row = perRow.subarray(b * T * V, (b + 1) * T * V).reduce((sum, l, i) => sum + l * w64[b * T * V + i], 0);
      expect(Math.abs(out.metric[b] - row), `metric row ${b}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(row)));
    }
    const epsilon = 1e-3;
    const next = seededRandom(4);
    for (const name of names) {
      const grad = out.grads.get(name)!.dataSync();
      const scale = maxAbs(grad);
      expect(scale, `${name}: some gradient`).toBeGreaterThan(0);
      const argmax = grad.findIndex((g) => Math.abs(g) === scale);
      const coordinates = [argmax, ...Array.from({ length: 3 }, () => Math.floor(next() * grad.length))];
      for (const index of coordinates) {
        const shifted = (delta: number) => metric64((hook, values) => void (hook === name && (values[index] += delta)));
        const finiteDifference = (shifted(epsilon) - shifted(-epsilon)) / (2 * epsilon);
        expect(Math.abs(grad[index] - finiteDifference), `${name}[${index}]: ${grad[index]} vs ${finiteDifference}`)
          .toBeLessThanOrEqual(1e-3 * Math.max(Math.abs(finiteDifference), scale));
      }
    }
    tf.dispose([tokens, w, ...out.grads.values()]);
  });
});

describe("run: read, replace, patch, stopAt", () => {
  it("replacement hooks that return their input (or a clone) at every hook change no output bit", () => {
    const tokens = tokensOf(tokenIds(5));
    const plain = run(model, tokens, LENGTHS);
    const every = (fn: HookFn) => Object.fromEntries(hookNames(config).map((name) => [name, fn]));
    const same = run(model, tokens, LENGTHS, { hooks: every((x) => x) });
    const cloned = run(model, tokens, LENGTHS, { hooks: every((x) => x.clone()) });
    const { logits: direct } = runWithCache(model, tokens, []);
    expectSameBits(same.logits!, plain.logits!, "x => x");
    expectSameBits(cloned.logits!, plain.logits!, "x => x.clone()");
    expectSameBits(direct, plain.logits!, "gpt.ts runWithCache");
    tf.dispose([tokens, plain.logits!, same.logits!, cloned.logits!, direct]);
  });

  it("patching a hook with another input's activation changes downstream values as computed by hand", () => {
    const [cleanIds, otherIds] = [tokenIds(6), tokenIds(7)];
    const [clean, other] = [tokensOf(cleanIds), tokensOf(otherIds)];
    const site = "blocks.0.hook_attn_out";
    const source = run(model, other, LENGTHS, { cache: [site], stopAt: site }).cache.get(site)!;
    const patched = run(model, clean, LENGTHS, {
      hooks: { [site]: () => source },
      cache: [site, "blocks.0.hook_resid_pre", "blocks.0.hook_resid_mid"],
    });
    expectSameBits(patched.cache.get(site)!, source, "the cache holds the replacement");
    tf.tidy(() => expectSameBits(patched.cache.get("blocks.0.hook_resid_mid")!,
      patched.cache.get("blocks.0.hook_resid_pre")!.add(source), "resid_mid = resid_pre + patched attn_out"));
    const source64 = Float64Array.from(source.dataSync());
    const expected = reference64(params64(model), cleanIds, (name, values) => void (name === site && values.set(source64)));
    expectClose(patched.logits!.dataSync(), expected.logits, 1e-5, "logits of the patched run");
    const unpatched = reference64(params64(model), cleanIds).logits;
    expect(maxAbs(expected.logits.map((l, i) => l - unpatched[i]))).toBeGreaterThan(0.1); // the patch matters
    tf.dispose([clean, other, source, patched.logits!, ...patched.cache.values()]);
  });

  it("stopAt returns the cache (equal to runWithCache's) and runs nothing after it; logits 'last' and 'none'", () => {
    const tokens = tokensOf(tokenIds(8));
    const names = ["hook_embed", "blocks.0.attn.hook_pattern", "blocks.0.hook_resid_post"];
    const fired: string[] = [];
    const spy = Object.fromEntries(hookNames(config).map((name) => [name, () => void fired.push(name)]));
    const stopped = run(model, tokens, LENGTHS, { cache: names, stopAt: "blocks.0.hook_resid_post", hooks: spy });
    expect(stopped.logits).toBeUndefined();
    expect(fired.at(-1)).toBe("blocks.0.hook_resid_post");
    expect(fired).not.toContain("blocks.1.hook_resid_pre");
    const full = runWithCache(model, tokens, names);
    for (const name of names) expectSameBits(stopped.cache.get(name)!, full.cache.get(name)!, name);

    const last = run(model, tokens, LENGTHS, { logits: "last" });
    expect(last.logits!.shape).toEqual([B, config.d_vocab]);
    tf.tidy(() => {
      const rows = LENGTHS.map((length, b) => full.logits.slice([b, length - 1, 0], [1, 1, -1]).reshape([-1]));
      expectSameBits(last.logits!, tf.stack(rows), "logits at lengths − 1");
    });
    const none = run(model, tokens, LENGTHS, { logits: "none", cache: ["ln_final.hook_normalized"] });
    expect(none.logits).toBeUndefined();
    expect(none.cache.get("ln_final.hook_normalized")!.shape).toEqual([B, T, config.d_model]);
    expect(() => run(model, tokens, LENGTHS, { stopAt: "blocks.0.hook_resid_post", cache: ["blocks.1.hook_resid_pre"] }))
      .toThrow(/cache hook "blocks.1.hook_resid_pre" fires after stopAt "blocks.0.hook_resid_post"/);
    expect(() => run(model, tokens, LENGTHS, { stopAt: "hook_embed", logits: "all" })).toThrow(InterventionError);
    tf.dispose([tokens, last.logits!, full.logits, ...full.cache.values(), ...stopped.cache.values(), ...none.cache.values()]);
  });

  it("checks hook names, replacement shapes and lengths", () => {
    const tokens = tokensOf(tokenIds(9));
    const unknown = { "blocks.2.hook_resid_post": () => undefined };
    expect(() => run(model, tokens, LENGTHS, { hooks: unknown })).toThrow(UnknownHookError);
    expect(() => run(model, tokens, LENGTHS, { cache: ["blocks.0.hook_resid"] })).toThrow(/valid hook names: hook_embed, hook_pos_embed/);
    expect(() => run(model, tokens, LENGTHS, { stopAt: "hook_nope" })).toThrow(UnknownHookError);
    expect(() => gradients(model, tokens, LENGTHS, (o) => o.logits!.sum([1, 2]), { at: ["blocks.7.hook_mlp_out"] }))
      .toThrow(UnknownHookError);
    expect(() => gradients(model, tokens, LENGTHS, (o) => o.logits!.sum([1, 2]), { at: [] })).toThrow(/nothing to differentiate/);
    const wrong = { "blocks.0.hook_mlp_out": (x: Tensor) => x.slice([0, 0, 0], [-1, -1, 32]) };
    expect(() => run(model, tokens, LENGTHS, { hooks: wrong })).toThrow(HookShapeError);
    expect(() => run(model, tokens, LENGTHS, { hooks: wrong })).toThrow(/"blocks.0.hook_mlp_out".*\[2,6,32\].*\[2,6,64\]/);
    expect(() => run(model, tokens, [6], {})).toThrow(/lengths has 1 entries, tokens has B = 2/);
    expect(() => run(model, tokens, [6, 7], {})).toThrow(/lengths\[1\] = 7/);
    tokens.dispose();
  });
});

describe("gradients: stop-gradient, pass-through, taps", () => {
  it("stop-gradient at attn_out and mlp_out of block 1 makes d(resid_post_1·u)/d(resid_post_0) exactly u", () => {
    const tokens = tokensOf(tokenIds(10));
    const u = tf.tensor(randomArray(B * T * config.d_model, 11), [B, T, config.d_model]);
    const sg: HookFn = (x, ctx) => ctx.stopGradient(x);
    const out = gradients(model, tokens, LENGTHS, (o) => o.cache.get("blocks.1.hook_resid_post")!.mul(u).sum([1, 2]), {
      hooks: { "blocks.1.hook_attn_out": sg, "blocks.1.hook_mlp_out": sg },
      cache: ["blocks.1.hook_resid_post"],
      stopAt: "blocks.1.hook_resid_post",
      at: ["blocks.0.hook_resid_post", "blocks.1.hook_resid_pre"],
    });
    expectSameBits(out.grads.get("blocks.0.hook_resid_post")!, u, "gradient at blocks.0.hook_resid_post");
    // Without the stop-gradients the attention and MLP paths add to it.
    const free = gradients(model, tokens, LENGTHS, (o) => o.cache.get("blocks.1.hook_resid_post")!.mul(u).sum([1, 2]), {
      cache: ["blocks.1.hook_resid_post"], stopAt: "blocks.1.hook_resid_post", at: ["blocks.0.hook_resid_post"],
    });
    tf.tidy(() => {
      expect(free.grads.get("blocks.0.hook_resid_post")!.sub(u).abs().max().dataSync()[0]).toBeGreaterThan(1e-3);
    });
    tf.dispose([tokens, u, ...out.grads.values(), ...out.cache.values(), ...free.grads.values(), ...free.cache.values()]);
  });

  it("passThrough: the value is the replacement's, the gradient upstream is the unspliced model's", () => {
    const tokens = tokensOf(tokenIds(12));
    const site = "blocks.0.hook_mlp_out";
    const w = tf.tensor(Float32Array.from(metricWeights(13)), [B, T, config.d_vocab]);
    const metric = (o: RunOut) => o.logits!.mul(w).sum([1, 2]);
    const at = [site, "blocks.0.hook_resid_mid", "blocks.0.hook_resid_post"];
    const tripled = gradients(model, tokens, LENGTHS, metric, {
      hooks: { [site]: (x, ctx) => ctx.passThrough(x, ctx.stopGradient(x).mul(3)) }, at, cache: [site, "blocks.0.hook_resid_mid"],
    });
    const plain = run(model, tokens, LENGTHS, { cache: [site] });
    tf.tidy(() => expectSameBits(tripled.cache.get(site)!, plain.cache.get(site)!.mul(3), "value = replacement"));
    // The unspliced model's gradient at resid_mid, given the spliced run's downstream gradient G at resid_post_0:
    // d(Σ resid_post_0·G)/d(resid_mid) = G + J_mlpᵀ·G, exactly what pass-through gives (dy at mlp_out is G too).
    const G = tripled.grads.get("blocks.0.hook_resid_post")!;
    const unspliced = gradients(model, tokens, LENGTHS, (o) => o.cache.get("blocks.0.hook_resid_post")!.mul(G).sum([1, 2]), {
      cache: ["blocks.0.hook_resid_post"], stopAt: "blocks.0.hook_resid_post", at: ["blocks.0.hook_resid_mid"],
    });
    const [spliced, reference] = [tripled.grads.get("blocks.0.hook_resid_mid")!, unspliced.grads.get("blocks.0.hook_resid_mid")!];
    expectClose(spliced.dataSync(), reference.dataSync(), 1e-6, "gradient at resid_mid");
    expectSameBits(tripled.grads.get(site)!, G, "dy at mlp_out = dy at resid_post");
    // An identity-valued pass-through leaves every gradient of the unspliced model unchanged.
    const identity = gradients(model, tokens, LENGTHS, metric, {
      hooks: { [site]: (x, ctx) => ctx.passThrough(x, ctx.stopGradient(x).mul(2).sub(ctx.stopGradient(x))) }, at: ["hook_embed"],
    });
    const none = gradients(model, tokens, LENGTHS, metric, { at: ["hook_embed"] });
    expectClose(identity.grads.get("hook_embed")!.dataSync(), none.grads.get("hook_embed")!.dataSync(), 1e-6, "hook_embed gradient");
    const results = [tripled, unspliced, identity, none].flatMap((o) => [...o.grads.values(), ...o.cache.values()]);
    tf.dispose([tokens, w, ...results, ...plain.cache.values(), plain.logits!]);
  });

  it("taps report dy: the tapped tensor's gradient, inside embedding hooks too; zeros off the path", () => {
    const tokens = tokensOf(tokenIds(14));
    const w = tf.tensor(Float32Array.from(metricWeights(15)), [B, T, config.d_vocab]);
    const out = gradients(model, tokens, LENGTHS, (o) => o.logits!.mul(w).sum([1, 2]), {
      hooks: {
        hook_embed: (x, ctx) => ctx.tap("embed", x),
        hook_pos_embed: (x, ctx) => ctx.tap("pos", x),
        "blocks.1.mlp.hook_post": (x, ctx) => {
          ctx.tap("unused", x.mul(5));
          return ctx.tap("half", x.mul(0.5)).mul(2);
        },
      },
      at: ["hook_embed", "hook_pos_embed", "blocks.1.mlp.hook_post"],
    });
    expectSameBits(out.grads.get("embed")!, out.grads.get("hook_embed")!, "tap in hook_embed");
    expectSameBits(out.grads.get("pos")!, out.grads.get("hook_pos_embed")!, "tap in hook_pos_embed");
    tf.tidy(() => expectSameBits(out.grads.get("half")!, out.grads.get("blocks.1.mlp.hook_post")!.mul(2), "d/dh of 2h"));
    expect(maxAbs(out.grads.get("unused")!.dataSync())).toBe(0);
    // Against finite differences of the float64 forward: the tap at mlp.hook_post·½ sees dm/dh = 2·dm/d(post).
    const ids = tokenIds(14);
    const P = params64(model);
    const w64 = metricWeights(15);
    const index = 123;
    const shifted = (delta: number) =>
      reference64(P, ids, (name, values) => void (name === "blocks.1.mlp.hook_post" && (values[index] += 2 * delta))).logits
        .reduce((sum, l, i) => sum + l * w64[i], 0);
    const finiteDifference = (shifted(1e-3) - shifted(-1e-3)) / 2e-3;
    expect(Math.abs(out.grads.get("half")!.dataSync()[index] - finiteDifference))
      .toBeLessThan(1e-3 * Math.max(1, Math.abs(finiteDifference)));
    expect(() => gradients(model, tokens, LENGTHS, (o) => o.logits!.sum([1, 2]), {
      hooks: { hook_embed: (x, ctx) => ctx.tap("hook_embed", x) }, at: ["hook_embed"],
    })).toThrow(/tap key "hook_embed" is already used/);
    tf.dispose([tokens, w, ...out.grads.values()]);
  });

  it("the gradient through logits 'last' has its closed form at ln_final.hook_normalized", () => {
    const tokens = tokensOf(tokenIds(16));
    const { d_model: d, d_vocab: V } = config;
    const w = randomArray(B * V, 17);
    const out = gradients(model, tokens, LENGTHS, (o) => o.logits!.mul(tf.tensor(w, [B, V])).sum(1), {
      logits: "last", at: ["ln_final.hook_normalized"],
    });
    const WU = model.params.get("unembed.W_U")!.dataSync();
    const lnW = model.params.get("ln_final.w")!.dataSync();
    const expected = new Float64Array(B * T * d);
    for (let b = 0; b < B; b++) {
      for (let m = 0; m < d; m++) {
        let s = 0;
        for (let v = 0; v < V; v++) s += WU[m * V + v] * w[b * V + v];
        expected[(b * T + LENGTHS[b] - 1) * d + m] = lnW[m] * s;
      }
    }
    expectClose(out.grads.get("ln_final.hook_normalized")!.dataSync(), expected, 1e-6, "closed form");
    tf.dispose([tokens, ...out.grads.values()]);
  });

  it("per-row interventions by broadcasting: one IG batch with α per row equals separate runs", () => {
    const ids = tokenIds(18);
    const [clean, patch] = [tokensOf(ids), tokensOf(tokenIds(19))];
    const site = "blocks.0.hook_mlp_out";
    const alphas = [0, 0.4, 1];
    const xPatch = run(model, patch, LENGTHS, { cache: [site], stopAt: site }).cache.get(site)!;
    const xClean = run(model, clean, LENGTHS, { cache: [site], stopAt: site }).cache.get(site)!;
    const w = tf.tensor(Float32Array.from(metricWeights(20)), [B, T, config.d_vocab]);
    const interpolate = (alpha: Tensor, reps: number): HookFn => () =>
      alpha.mul(xPatch.tile([reps, 1, 1])).add(tf.scalar(1).sub(alpha).mul(xClean.tile([reps, 1, 1])));
    // rows k·B + b carry α_k
    const alphaRows = tf.tensor(alphas.flatMap((a) => [a, a]), [alphas.length * B, 1, 1]);
    const tiledW = w.tile([alphas.length, 1, 1]);
    const batched = gradients(model, clean.tile([alphas.length, 1]) as tfTypes.Tensor2D, [...LENGTHS, ...LENGTHS, ...LENGTHS],
      (o) => o.logits!.mul(tiledW).sum([1, 2]), { hooks: { [site]: interpolate(alphaRows, alphas.length) }, at: ["hook_embed"] });
    const rowSize = T * config.d_model;
    alphas.forEach((alpha, k) => {
      const alone = gradients(model, clean, LENGTHS, (o) => o.logits!.mul(w).sum([1, 2]),
        { hooks: { [site]: interpolate(tf.scalar(alpha), 1) }, at: ["hook_embed"] });
      expectClose(batched.metric.subarray(k * B, (k + 1) * B), alone.metric, 1e-6, `metric, α = ${alpha}`);
      expectClose(batched.grads.get("hook_embed")!.dataSync().subarray(k * B * rowSize, (k + 1) * B * rowSize),
        alone.grads.get("hook_embed")!.dataSync(), 1e-6, `gradient, α = ${alpha}`);
      tf.dispose([...alone.grads.values()]);
    });
    expect(batched.metric[0]).not.toBeCloseTo(batched.metric[2 * B], 3); // α matters
    tf.dispose([clean, patch, xPatch, xClean, w, alphaRows, tiledW, ...batched.grads.values()]);
  });
});

describe("SAE splicing", () => {
  interface ReluSae extends SpliceableSae { params: Tensor[] }
  /** A real ReLU SAE: encode = relu((x − b_dec)·W_enc + b_enc), decode = f·W_dec + b_dec. */
  function reluSae(seed: number, dSae = 96): ReluSae & { W_dec: Tensor } {
    const d = config.d_model;
    const W_enc = tf.tensor(randomArray(d * dSae, seed, 0.3), [d, dSae]);
    const b_enc = tf.tensor(randomArray(dSae, seed + 1, 0.3));
    const W_dec = tf.tensor(randomArray(dSae * d, seed + 2, 0.3), [dSae, d]);
    const b_dec = tf.tensor(randomArray(d, seed + 3, 0.3));
    return {
      params: [W_enc, b_enc, W_dec, b_dec],
      W_dec,
      encode: (x) => tf.relu(tf.matMul(x.sub(b_dec) as tfTypes.Tensor2D, W_enc as tfTypes.Tensor2D).add(b_enc)),
      decode: (f) => tf.matMul(f as tfTypes.Tensor2D, W_dec as tfTypes.Tensor2D).add(b_dec),
    };
  }
  it("with the error kept and no edit, logits are unchanged bit for bit; saved features and error are encode(x), x − decode(f)", () => {
    const tokens = tokensOf(tokenIds(21));
    const saes = { [first]: reluSae(30), [second]: reluSae(40) };
    const plain = run(model, tokens, LENGTHS, { cache: [first] });
    const spliced = run(model, tokens, LENGTHS, { hooks: spliceSaes(saes, { save: true }), cache: [first, second] });
    expectSameBits(spliced.logits!, plain.logits!, "logits");
    expectSameBits(spliced.cache.get(first)!, plain.cache.get(first)!, first);
    tf.tidy(() => {
      const x = plain.cache.get(first)!.reshape([B * T, -1]);
      const f = saes[first].encode(x);
      expectSameBits(spliced.saved.get(featuresKey(first))!, f.reshape([B, T, -1]), "features");
      expectSameBits(spliced.saved.get(errorKey(first))!, x.sub(saes[first].decode(f)).reshape([B, T, -1]), "error");
      expect(f.greater(0).sum().dataSync()[0]).toBeGreaterThan(0); // some features are active
      expect(x.sub(saes[first].decode(f)).abs().max().dataSync()[0]).toBeGreaterThan(0.1); // the error is not tiny
    });
    tf.dispose([tokens, plain.logits!, spliced.logits!, ...plain.cache.values(), ...spliced.cache.values(), ...spliced.saved.values(),
      ...Object.values(saes).flatMap((s) => s.params)]);
  });

  it("with an edit (and error modes zero/mean) each spliced hook holds the manual formula's value", () => {
    const tokens = tokensOf(tokenIds(22));
    const saes = { [first]: reluSae(50), [second]: reluSae(60) };
    const dSae = 96;
    // per row: row 0 keeps the even features, row 1 the odd ones
    const keep = tf.tensor(Array.from({ length: B * dSae }, (_, i) => (i % dSae) % 2 === Math.floor(i / dSae) ? 1 : 0), [B, 1, dSae]);
    const edit = (f: Tensor) => f.mul(keep);
    const means = { [first]: tf.tensor(randomArray(config.d_model, 70)), [second]: tf.tensor(randomArray(config.d_model, 71)) };
    const preSecond: HookFn = (x, ctx) => ctx.save("pre", x);
    for (const error of ["keep", "zero", "mean"] as const) {
      const out = run(model, tokens, LENGTHS, {
        hooks: mergeHooks({ [second]: preSecond }, spliceSaes(saes, { edit, error, means })), cache: [first, second],
      });
      const upstream = run(model, tokens, LENGTHS, { cache: [first], stopAt: first }).cache.get(first)!;
      tf.tidy(() => {
        const manual = (hook: string, x: Tensor) => {
          const sae = saes[hook];
          const f = sae.encode(x.reshape([B * T, -1])).reshape([B, T, dSae]);
          const decode = (g: Tensor) => sae.decode(g.reshape([B * T, -1])).reshape(x.shape);
          const reconstruction = decode(edit(f));
          if (error === "keep") return x.add(reconstruction.sub(decode(f)));
          return error === "zero" ? reconstruction : reconstruction.add(means[hook]);
        };
        expectSameBits(out.cache.get(first)!, manual(first, upstream), `${error}: ${first}`);
        expectSameBits(out.cache.get(second)!, manual(second, out.saved.get("pre")!), `${error}: ${second}`);
        expect(out.cache.get(first)!.sub(upstream).abs().max().dataSync()[0], "the edit changes the value").toBeGreaterThan(1e-3);
      });
      tf.dispose([out.logits!, upstream, ...out.cache.values(), ...out.saved.values()]);
    }
    expect(() => spliceSaes(saes, { error: "mean" })).toThrow(/means\["blocks.0.hook_resid_post"\]/);
    tf.dispose([tokens, keep, ...Object.values(means), ...Object.values(saes).flatMap((s) => s.params)]);
  });

  it("tapped features get dy·W_decᵀ; the splice leaves upstream gradients equal to the unspliced model's", () => {
    const tokens = tokensOf(tokenIds(23));
    const saes = { [first]: reluSae(80), [second]: reluSae(90) };
    const w = tf.tensor(Float32Array.from(metricWeights(24)), [B, T, config.d_vocab]);
    const metric = (o: RunOut) => o.logits!.mul(w).sum([1, 2]);
    const at = [first, second, "hook_embed", "blocks.0.hook_resid_mid"];
    const spliced = gradients(model, tokens, LENGTHS, metric, { hooks: spliceSaes(saes, { tap: true }), at });
    const plain = gradients(model, tokens, LENGTHS, metric, { at });
    for (const hook of [first, second]) {
      const expected = tf.tidy(() => tf.matMul(spliced.grads.get(hook)!.reshape([B * T, -1]) as tfTypes.Tensor2D,
        saes[hook].W_dec.transpose() as tfTypes.Tensor2D).reshape([B, T, -1]));
      expectClose(spliced.grads.get(featuresKey(hook))!.dataSync(), expected.dataSync(), 1e-6, `features at ${hook}`);
      expected.dispose();
    }
    for (const name of at) expectClose(spliced.grads.get(name)!.dataSync(), plain.grads.get(name)!.dataSync(), 1e-6, name);
    expectClose(spliced.metric, plain.metric, 0, "metric");
    tf.dispose([tokens, w, ...spliced.grads.values(), ...plain.grads.values(), ...Object.values(saes).flatMap((s) => s.params)]);
  });
});

describe("masked means and hygiene", () => {
  it("maskedMean and maskedMeanByPosition average real positions only", () => {
    const x = tf.tensor(randomArray(B * T * 3, 25), [B, T, 3]);
    const values = x.arraySync() as number[][][];
    const overall = maskedMean(tf, x, LENGTHS);
    const byPosition = maskedMeanByPosition(tf, x, LENGTHS);
    const expectedOverall = [0, 1, 2].map((j) => {
      let [sum, count] = [0, 0];
      LENGTHS.forEach((length, b) => { for (let t = 0; t < length; t++) [sum, count] = [sum + values[b][t][j], count + 1]; });
      return sum / count;
    });
    const expectedByPosition = Array.from({ length: T }, (_, t) => [0, 1, 2].map((j) => {
      const rows = LENGTHS.flatMap((length, b) => (t < length ? [values[b][t][j]] : []));
      return rows.reduce((a, v) => a + v, 0) / rows.length;
    }));
    expectClose(overall.dataSync(), expectedOverall, 1e-6, "overall");
    expectClose(byPosition.dataSync(), expectedByPosition.flat(), 1e-6, "by position");
    const mask = realPositionMask(tf, [2, 0], 3);
    expect(mask.arraySync()).toEqual([[1, 1, 0], [0, 0, 0]]);
    const empty = maskedMeanByPosition(tf, tf.ones([2, 3, 1]), [2, 0]);
    expect(Array.from(empty.dataSync())).toEqual([1, 1, 0]);
    tf.dispose([x, overall, byPosition, mask, empty]);
  });

  it("leaks no tensors: after run and gradients (returned tensors disposed), and after errors inside them", () => {
    const tokens = tokensOf(tokenIds(26));
    const sae: SpliceableSae = { encode: (x) => tf.relu(x), decode: (f) => f };
    const hooks = mergeHooks(spliceSaes({ [first]: sae }, { save: true, tap: true }), {
      "blocks.1.hook_attn_out": (x, ctx) => ctx.stopGradient(x),
      "blocks.1.hook_mlp_out": (x, ctx) => { ctx.save("mlp", x); return ctx.tap("mlp", x); },
    });
    const before = tf.memory().numTensors;
    const ran = run(model, tokens, LENGTHS, { hooks, cache: [first, "blocks.1.hook_resid_mid"], logits: "last" });
    expect(tf.memory().numTensors).toBe(before + 1 + 2 + 3);
    tf.dispose([ran.logits!, ...ran.cache.values(), ...ran.saved.values()]);
    const stopped = run(model, tokens, LENGTHS, { hooks, cache: [first], stopAt: "blocks.1.hook_resid_mid" });
    tf.dispose([...stopped.cache.values(), ...stopped.saved.values()]);
    expect(tf.memory().numTensors).toBe(before);
    const grads = gradients(model, tokens, LENGTHS, (o) => o.logits!.sum([1, 2]).add(o.cache.get(first)!.sum([1, 2])), {
      hooks, cache: [first], at: [first, "hook_embed", "blocks.1.hook_resid_post"],
    });
    expect(grads.grads.size).toBe(3 + 2);
    tf.dispose([...grads.grads.values(), ...grads.cache.values(), ...grads.saved.values()]);
    expect(tf.memory().numTensors).toBe(before);
    const badShape = { ...hooks, "blocks.1.hook_resid_post": (x: Tensor) => x.sum(-1) };
    expect(() => run(model, tokens, LENGTHS, { hooks: badShape, cache: [first] })).toThrow(HookShapeError);
    expect(() => gradients(model, tokens, LENGTHS, (o) => o.logits!.sum([1, 2]), { hooks: badShape, cache: [first], at: [first] }))
      .toThrow(HookShapeError);
    expect(() => gradients(model, tokens, LENGTHS, (o) => o.logits!.sum(), { hooks, cache: [first], at: [first] }))
      .toThrow(/one value per row, shape \[2\], got \[\]/);
    expect(tf.memory().numTensors).toBe(before);
    tokens.dispose();
  });
});
