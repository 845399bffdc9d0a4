// The intervention API of spec model.md §6 (nnsight's trace/save/set; feature-circuits' splice): hooked no-grad runs
// that read, save, replace and stop early; gradients of a per-row metric w.r.t. hook activations and tapped tensors in
// one backward pass; stop-gradient and pass-through; masked means; SAE splicing with the error term kept.

import type * as tfTypes from "@tensorflow/tfjs";
import type { GptConfig } from "./config.js";
import { forward, hookNames, UnknownHookError, type Gpt } from "./gpt.js";

type Tensor = tfTypes.Tensor;
type Tf = typeof tfTypes;

/** A TransformerLens hook name (spec §1), validated against hookNames(config). */
export type HookName = string;

/** What a hook function sees besides the activation (spec §6.2). */
export interface HookCtx {
  name: HookName;
  /** l of a `blocks.l.*` hook; null for the embeddings and ln_final. */
  layer: number | null;
  /** True row lengths [B]: positions ≥ lengths[b] are padding. Do not modify. */
  lengths: Int32Array;
  /** Value x, gradient 0. */
  stopGradient<T extends Tensor>(x: T): T;
  /** Value = replacement, gradient into x = identity; build the replacement from stopGradient(x) (spec §6.1.4). */
  passThrough<T extends Tensor>(x: T, replacement: T): T;
  /** Keeps t after the run under `key` (RunOut.saved, owned by the caller); a key can be saved once per run. */
  save(key: string, t: Tensor): void;
  /** Identity on t; in `gradients` the gradient w.r.t. t is reported under `key`. In `run` it returns t as is. */
  tap<T extends Tensor>(key: string, t: T): T;
}

/** Reads (returns nothing) or replaces (returns a tensor of the same shape) the activation at a hook. */
export type HookFn = (x: Tensor, ctx: HookCtx) => Tensor | void;
/** Hook functions by hook name; a list runs in order, each seeing the previous one's output. */
export type Hooks = Record<HookName, HookFn | readonly HookFn[]>;
/** 'last' = the logits at position lengths[b] − 1 of each row, [B, V]. */
export type LogitsMode = "all" | "last" | "none";

export interface RunOpts {
  hooks?: Hooks;
  /** Hooks whose values (after every hook function) are returned in `cache`. */
  cache?: readonly HookName[];
  /** The last hook to run: the rest of the model is skipped and no logits are computed. */
  stopAt?: HookName;
  /** Default 'all', or 'none' with stopAt. */
  logits?: LogitsMode;
}

/** Returned tensors are owned by the caller. Inside `gradients`' metric they are live tensors on the tape. */
export interface RunOut {
  logits?: Tensor;
  cache: Map<HookName, Tensor>;
  saved: Map<string, Tensor>;
}

export interface GradientOpts extends RunOpts {
  /** Hooks at which to return the gradient w.r.t. the value leaving them (after every hook function). */
  at: readonly HookName[];
}

/** The metric: one value per row [B]; the gradient is of their sum (spec §6.1.5). */
export type Metric = (out: RunOut) => Tensor;

export interface GradientOut {
  /** The metric's values [B]. */
  metric: Float32Array;
  /** Gradients by hook name (each `at` hook) and by tap key (each tap; zeros where no gradient reaches it). */
  grads: Map<string, Tensor>;
  cache: Map<HookName, Tensor>;
  saved: Map<string, Tensor>;
}

/** A hook function returned a tensor whose shape differs from the activation's. */
export class HookShapeError extends Error {
  constructor(readonly hook: HookName, readonly got: readonly number[], readonly expected: readonly number[], what = "returned") {
    super(`hook "${hook}": ${what} shape [${got}], expected the activation's shape [${expected}]`);
    this.name = "HookShapeError";
  }
}

/** Options or results of an intervention that do not fit together (e.g. a cache hook after stopAt). */
export class InterventionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InterventionError";
  }
}

/** Value x, gradient 0: tfjs has no stop-gradient op (tensorflow/tfjs#7438), so a customGrad stands in. */
export function stopGradient<T extends Tensor>(tf: Tf, x: T): T {
  return tf.customGrad((input) => ({
    value: (input as Tensor).clone(),
    gradFunc: (dy: Tensor) => tf.zerosLike(dy),
  }))(x) as T;
}

/** r(sg(x)) + (x − sg(x)) of spec §6.1.4 as one op: value = replacement, gradient dy into both x and replacement. */
export function passThrough<T extends Tensor>(tf: Tf, x: T, replacement: T): T {
  if (!sameShape(x.shape, replacement.shape)) {
    throw new InterventionError(`passThrough: replacement shape [${replacement.shape}] differs from the input's [${x.shape}]`);
  }
  return tf.customGrad((_input, value) => ({
    value: (value as Tensor).clone(),
    gradFunc: (dy: Tensor) => [dy.clone(), dy.clone()],
  }))(x, replacement) as T;
}

/** The shape of a hook's activation for a [B, T] batch (spec §1). */
export function hookShape(config: GptConfig, name: HookName, B: number, T: number): number[] {
  const { d_model: d, n_heads: H, d_head: dh, d_mlp: dm } = config;
  const valid = hookNames(config);
  if (!valid.includes(name)) throw new UnknownHookError(name, valid);
  if (name.endsWith("hook_scale")) return [B, T, 1];
  if (/attn\.hook_[qkvz]$/.test(name)) return [B, T, H, dh];
  if (/attn\.hook_(attn_scores|pattern)$/.test(name)) return [B, H, T, T];
  if (/mlp\.hook_(pre|post)$/.test(name)) return [B, T, dm];
  return [B, T, d];
}

/** Concatenates hook records: at a name in several, the functions run in argument order. */
export function mergeHooks(...records: Hooks[]): Hooks {
  const merged: Record<HookName, HookFn[]> = {};
  for (const record of records) {
    for (const [name, fns] of Object.entries(record)) (merged[name] ??= []).push(...asList(fns));
  }
  return merged;
}

/** A no-grad hooked forward pass (spec §6.1.2–3, 7); everything but the returned tensors is disposed. */
export function run(model: Gpt, tokens: tfTypes.Tensor2D, lengths: ArrayLike<number>, opts: RunOpts = {}): RunOut {
  const plan = planRun(model, tokens, lengths, opts, []);
  const trace = newTrace(model.tf);
  try {
    let logits: Tensor | undefined;
    model.tf.tidy(() => {
      const out = tracedForward(model, tokens, plan, trace);
      if (out.logits) logits = model.tf.keep(out.logits);
    });
    return logits ? { logits, cache: trace.cache, saved: trace.saved } : { cache: trace.cache, saved: trace.saved };
  } catch (error) {
    disposeTrace(trace);
    throw error;
  }
}

/**
 * Gradients of Σ_b metric(out)[b] w.r.t. the value leaving each hook of `opts.at` and each tapped tensor, in one
 * backward pass (spec §6.1.5): a zero δ is added after the hook functions of each requested hook and tf's engine
 * differentiates w.r.t. the δs. A zero offset before the hook functions of hook_embed and hook_pos_embed is always
 * differentiated too (when there are hooks), so that every tap downstream of the inputs lies on the differentiated path.
 */
export function gradients(
  model: Gpt,
  tokens: tfTypes.Tensor2D,
  lengths: ArrayLike<number>,
  metric: Metric,
  opts: GradientOpts,
): GradientOut {
  const { tf, config } = model;
  const at = [...new Set(opts.at)];
  const plan = planRun(model, tokens, lengths, opts, at);
  if (at.length === 0 && plan.hooks.size === 0) {
    throw new InterventionError("gradients: nothing to differentiate (no `at` hooks, no hooks to tap in)");
  }
  const trace = newTrace(tf);
  const grads = new Map<string, Tensor>();
  let perRow: Tensor | undefined;
  try {
    tf.tidy(() => {
      const offset = (name: HookName) => tf.zeros(hookShape(config, name, plan.B, plan.T));
      const tape: GradientTape = {
        // Taps exist only inside hook functions: without any, skip the backward pass below the `at` hooks.
        inputOffsets: new Map(plan.hooks.size > 0 ? INPUT_HOOKS.map((name) => [name, offset(name)]) : []),
        outputOffsets: new Map(at.map((name) => [name, offset(name)])),
        tapShapes: new Map(),
        tapGrads: new Map(),
      };
      trace.tape = tape;
      const xs = [...tape.inputOffsets.values(), ...tape.outputOffsets.values()];
      // An error inside the taped function would leave the tape's saved tensors behind: finish the (empty) backward
      // pass first, then rethrow.
      let failure: { error: unknown } | undefined;
      const { grads: dxs } = tf.engine().gradients(() => {
        try {
          const values = metric(tracedForward(model, tokens, plan, trace));
          if (values.rank !== 1 || values.shape[0] !== plan.B) {
            throw new InterventionError(`gradients: the metric must return one value per row, shape [${plan.B}], got [${values.shape}]`);
          }
          perRow = tf.keep(values.clone());
          return values.sum();
        } catch (error) {
          failure = { error };
          return tf.scalar(0);
        }
      }, xs, undefined, true);
      if (failure) throw failure.error;
      at.forEach((name, i) => {
        const dx = dxs[tape.inputOffsets.size + i] ?? tape.outputOffsets.get(name)!; // no path to the metric: zeros
        grads.set(name, tf.keep(dx.clone()));
      });
      for (const [key, shape] of tape.tapShapes) grads.set(key, tape.tapGrads.get(key) ?? tf.keep(tf.zeros(shape)));
      tape.tapGrads.clear();
    });
    const metricValues = Float32Array.from(perRow!.dataSync() as Float32Array);
    perRow!.dispose();
    return { metric: metricValues, grads, cache: trace.cache, saved: trace.saved };
  } catch (error) {
    tf.dispose([...(perRow ? [perRow] : []), ...grads.values(), ...(trace.tape?.tapGrads.values() ?? [])]);
    disposeTrace(trace);
    throw error;
  }
}

/** [B, T] float mask: 1 at real positions t < lengths[b], 0 at padding. */
export function realPositionMask(tf: Tf, lengths: ArrayLike<number>, T: number): tfTypes.Tensor2D {
  return tf.tidy(() => {
    const rowLengths = tf.tensor1d(Array.from(lengths), "int32").expandDims(1);
    return tf.range(0, T, 1, "int32").expandDims(0).less(rowLengths).toFloat() as tfTypes.Tensor2D;
  });
}

/** Mean of x [B, T, ...rest] over all real positions → [...rest] (spec §6.1.7; x must be finite at padding). */
export function maskedMean(tf: Tf, x: Tensor, lengths: ArrayLike<number>): Tensor {
  return tf.tidy(() => {
    const mask = positionMask(tf, x, lengths);
    return x.mul(mask).sum([0, 1]).div(mask.sum());
  });
}

/** Mean of x [B, T, ...rest] at each position over the rows where it is real → [T, ...rest]; 0 where none is. */
export function maskedMeanByPosition(tf: Tf, x: Tensor, lengths: ArrayLike<number>): Tensor {
  return tf.tidy(() => {
    const mask = positionMask(tf, x, lengths);
    return x.mul(mask).sum(0).div(mask.sum(0).maximum(1));
  });
}

/** An SAE as splicing needs it: rows of activations [N, d] ↔ feature activations [N, dSae]. */
export interface SpliceableSae {
  encode(x: Tensor): Tensor;
  decode(f: Tensor): Tensor;
}

/** What replaces the SAE error x − decode(f): kept (exact), zero, or a given mean (spec §6.1.8). */
export type SaeErrorMode = "keep" | "zero" | "mean";

export interface SpliceOpts {
  /** Edits the features [B, T, dSae] (same shape back); rows and positions may be edited differently. */
  edit?: (features: Tensor, ctx: HookCtx) => Tensor;
  error?: SaeErrorMode;
  /** Error 'mean': the mean SAE error per hook, broadcastable to the activation (e.g. [d] or [T, d]). */
  means?: Record<HookName, Tensor>;
  /** Save the clean features [B, T, dSae] under featuresKey(hook) and the SAE error under errorKey(hook). */
  save?: boolean;
  /** Tap the clean features (before the edit): their gradient is reported under featuresKey(hook). */
  tap?: boolean;
}

/** The saved/tapped key of an SAE's features at a hook. */
export const featuresKey = (hook: HookName): string => `${hook}:features`;
/** The saved key of an SAE's error x − decode(f) at a hook. */
export const errorKey = (hook: HookName): string => `${hook}:error`;

/**
 * Hooks splicing an SAE at each hook (spec §6.1.8, feature-circuits' splice): f = encode(x), f′ = edit(f);
 * error 'keep': x + (decode(f′) − decode(f)), exactly x when there is no edit; 'zero': decode(f′);
 * 'mean': decode(f′) + means[hook]. Always a pass-through: the gradient into x equals the unspliced model's, and
 * the features receive the downstream gradient (the error's gradient is the hook's own gradient).
 */
export function spliceSaes(saes: Record<HookName, SpliceableSae>, opts: SpliceOpts = {}): Hooks {
  const error = opts.error ?? "keep";
  const hooks: Hooks = {};
  for (const [hook, sae] of Object.entries(saes)) {
    const mean = opts.means?.[hook];
    if (error === "mean" && !mean) throw new InterventionError(`spliceSaes: error "mean" needs means["${hook}"]`);
    hooks[hook] = (x, ctx) => {
      const [B, T] = x.shape;
      const xs = ctx.stopGradient(x);
      const decode = (features: Tensor) => sae.decode(features.reshape([B * T, -1])).reshape(x.shape);
      const encoded = sae.encode(xs.reshape([B * T, -1]));
      let features = encoded.reshape([B, T, -1]);
      if (opts.tap) features = ctx.tap(featuresKey(hook), features);
      const edited = opts.edit ? opts.edit(features, ctx) : features;
      if (!sameShape(edited.shape, features.shape)) {
        throw new HookShapeError(hook, edited.shape, features.shape, "SAE edit returned features of");
      }
      const reconstruction = decode(edited);
      const clean = opts.edit ? decode(ctx.stopGradient(features)) : ctx.stopGradient(reconstruction);
      if (opts.save) {
        ctx.save(featuresKey(hook), features);
        ctx.save(errorKey(hook), xs.sub(clean));
      }
      const replacement =
        error === "keep" ? xs.add(reconstruction.sub(clean)) : error === "zero" ? reconstruction : reconstruction.add(mean!);
      return ctx.passThrough(x, replacement);
    };
  }
  return hooks;
}

// ── the traced forward pass shared by run and gradients ──────────────────────────────────────────────────────────

const INPUT_HOOKS = ["hook_embed", "hook_pos_embed"];

interface Plan {
  hooks: Map<HookName, HookFn[]>;
  cache: Set<HookName>;
  /** The hook after which the forward pass stops (the last hook when logits are 'none'); null: run to the end. */
  lastHook: HookName | null;
  logits: LogitsMode;
  lengths: Int32Array;
  B: number;
  T: number;
}

interface GradientTape {
  inputOffsets: Map<HookName, Tensor>;
  outputOffsets: Map<HookName, Tensor>;
  tapShapes: Map<string, number[]>;
  /** dy recorded by each tap's backward pass (kept). */
  tapGrads: Map<string, Tensor>;
}

interface Trace {
  tf: Tf;
  cache: Map<HookName, Tensor>;
  saved: Map<string, Tensor>;
  tape?: GradientTape;
}

/** Thrown after the last hook to skip the rest of the model, as nnsight's EarlyStopException; never escapes. */
class ForwardStopped extends Error {}

function planRun(model: Gpt, tokens: Tensor, lengths: ArrayLike<number>, opts: RunOpts, at: readonly HookName[]): Plan {
  const valid = hookNames(model.config);
  const order = new Map(valid.map((name, i) => [name, i]));
  const check = (name: HookName): number => {
    const index = order.get(name);
    if (index === undefined) throw new UnknownHookError(name, valid);
    return index;
  };
  const hooks = new Map<HookName, HookFn[]>();
  for (const [name, fns] of Object.entries(opts.hooks ?? {})) {
    check(name);
    hooks.set(name, asList(fns));
  }
  const stopAt = opts.stopAt ?? null;
  const logits = opts.logits ?? (stopAt === null ? "all" : "none");
  if (stopAt !== null && logits !== "none") {
    throw new InterventionError(`logits "${logits}" cannot be computed with stopAt "${stopAt}"`);
  }
  const stopIndex = stopAt === null ? valid.length : check(stopAt);
  const cache = opts.cache ?? [];
  for (const [what, names] of [["cache", cache], ["at", at]] as const) {
    for (const name of names) {
      if (check(name) > stopIndex) throw new InterventionError(`${what} hook "${name}" fires after stopAt "${stopAt}"`);
    }
  }
  if (tokens.rank !== 2 || tokens.dtype !== "int32") {
    throw new InterventionError(`tokens must be int32 [B, T], got ${tokens.dtype} [${tokens.shape}]`);
  }
  const [B, T] = tokens.shape as [number, number];
  if (lengths.length !== B) throw new InterventionError(`lengths has ${lengths.length} entries, tokens has B = ${B} rows`);
  const rowLengths = Int32Array.from(lengths);
  rowLengths.forEach((length, b) => {
    if (length !== lengths[b] || length < 1 || length > T) {
      throw new InterventionError(`lengths[${b}] = ${lengths[b]} must be an integer in [1, T = ${T}]`);
    }
  });
  const lastHook = stopAt ?? (logits === "none" ? valid[valid.length - 1] : null);
  return { hooks, cache: new Set(cache), lastHook, logits, lengths: rowLengths, B, T };
}

/** Runs forward with the plan's hooks; call inside a tidy (or a tape). Cache and saved tensors are kept. */
function tracedForward(model: Gpt, tokens: tfTypes.Tensor2D, plan: Plan, trace: Trace): RunOut {
  const { tf } = trace;
  let logits: Tensor | undefined;
  try {
    logits = forward(model, tokens, (name, activation) => {
      const ctx = hookContext(name, plan.lengths, trace);
      let value = activation;
      const inputOffset = trace.tape?.inputOffsets.get(name);
      if (inputOffset) value = value.add(inputOffset);
      for (const fn of plan.hooks.get(name) ?? []) {
        const replacement = fn(value, ctx);
        if (!replacement) continue;
        if (!sameShape(replacement.shape, value.shape)) throw new HookShapeError(name, replacement.shape, value.shape);
        value = replacement;
      }
      const outputOffset = trace.tape?.outputOffsets.get(name);
      if (outputOffset) value = value.add(outputOffset);
      if (plan.cache.has(name)) trace.cache.set(name, tf.keep(value.clone()));
      if (name === plan.lastHook) throw new ForwardStopped();
      return value === activation ? undefined : value;
    });
  } catch (error) {
    if (!(error instanceof ForwardStopped)) throw error;
  }
  if (logits && plan.logits === "last") {
    // A one-hot masked sum rather than gather: exact (x + 0 = x) and differentiable on wasm (spec §4 pitfall 2).
    const last = tf.oneHot(tf.tensor1d(plan.lengths.map((length) => length - 1), "int32"), plan.T).toFloat();
    logits = logits.mul(last.expandDims(2)).sum(1);
  }
  return { ...(logits ? { logits } : {}), cache: trace.cache, saved: trace.saved };
}

function hookContext(name: HookName, lengths: Int32Array, trace: Trace): HookCtx {
  const { tf } = trace;
  const layer = /^blocks\.(\d+)\./.exec(name);
  return {
    name,
    layer: layer ? Number(layer[1]) : null,
    lengths,
    stopGradient: (x) => stopGradient(tf, x),
    passThrough: (x, replacement) => {
      if (!sameShape(x.shape, replacement.shape)) throw new HookShapeError(name, replacement.shape, x.shape, "passThrough replacement has");
      return passThrough(tf, x, replacement);
    },
    save: (key, t) => {
      if (trace.saved.has(key)) throw new InterventionError(`hook "${name}": saved key "${key}" is already used in this run`);
      trace.saved.set(key, tf.keep(t.clone()));
    },
    tap: (key, t) => {
      const tape = trace.tape;
      if (!tape) return t;
      if (tape.tapShapes.has(key) || tape.outputOffsets.has(key)) {
        throw new InterventionError(`hook "${name}": tap key "${key}" is already used in this run (by a tap or an \`at\` hook)`);
      }
      tape.tapShapes.set(key, t.shape);
      return tf.customGrad((input) => ({
        value: (input as Tensor).clone(),
        gradFunc: (dy: Tensor) => {
          tape.tapGrads.set(key, tf.keep(dy.clone()));
          return dy.clone();
        },
      }))(t) as typeof t;
    },
  };
}

function newTrace(tf: Tf): Trace {
  return { tf, cache: new Map(), saved: new Map() };
}

function disposeTrace(trace: Trace): void {
  trace.tf.dispose([...trace.cache.values(), ...trace.saved.values()]);
}

/** The [B, T] real-position mask reshaped to broadcast against x [B, T, ...rest]. */
function positionMask(tf: Tf, x: Tensor, lengths: ArrayLike<number>): Tensor {
  const [B, T] = x.shape;
  if (x.rank < 2 || lengths.length !== B) {
    throw new InterventionError(`masked mean: x [${x.shape}] must be [B, T, ...] with B = ${lengths.length} rows`);
  }
  return realPositionMask(tf, lengths, T).reshape([B, T, ...x.shape.slice(2).map(() => 1)]);
}

function asList(fns: HookFn | readonly HookFn[]): HookFn[] {
  return typeof fns === "function" ? [fns] : [...fns];
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((size, i) => size === b[i]);
}
