// SAE parameters under their SAELens names and shapes (spec sae.md §0 row-vector convention, §4 tensor table), and
// the inference-form `Sae` (encode x → f, decode f → x̂) on the compute layer's Kernels.
//
// Interface:
//   ARCHITECTURES / Architecture        the saved (SAELens cfg) architectures: standard | gated | topk | jumprelu
//   SaeShape { dIn, dSae }
//   SaeParams                            named Float32Arrays, row-major: W_enc [dIn, dSae], b_enc [dSae],
//                                        W_dec [dSae, dIn] (row i = feature i's direction), b_dec [dIn],
//                                        b_gate, b_mag, r_mag, threshold [dSae]
//   paramShapes(architecture, shape)     the tensors an architecture has, in SAELens order, with shapes
//   zeroParams / checkParams             allocation and validation (SaeShapeError names tensor and both shapes)
//   SaeSpec, createSae(kernels, spec, params) → Sae { encode(x, B) → f [B, dSae]; decode(f, B) → x̂ [B, dIn] }
//
// `encodeInto` switches on the architecture: standard (trainers standard, p_anneal), gated (gated, gated_anneal,
// §2.3), topk (§2.5) and jumprelu (§2.7, and BatchTopK saved as jumprelu, §2.6), each with its SaeSpec fields.

import type { Kernels } from "../compute/kernels.js";
import { keepTopK } from "./top-k.js";

export const ARCHITECTURES = ["standard", "gated", "topk", "jumprelu"] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export const PARAM_NAMES = ["W_enc", "b_enc", "b_gate", "b_mag", "r_mag", "W_dec", "b_dec", "threshold"] as const;
export type ParamName = (typeof PARAM_NAMES)[number];

export interface SaeShape {
  dIn: number;
  dSae: number;
}

/** Parameters of one SAE; which optional tensors exist depends on the architecture (paramShapes). */
export interface SaeParams {
  W_enc: Float32Array; // [dIn, dSae]
  W_dec: Float32Array; // [dSae, dIn]
  b_dec: Float32Array; // [dIn]
  b_enc?: Float32Array; // [dSae] standard, topk, jumprelu
  b_gate?: Float32Array; // [dSae] gated
  b_mag?: Float32Array; // [dSae] gated
  r_mag?: Float32Array; // [dSae] gated
  threshold?: Float32Array; // [dSae] jumprelu
}

/** A tensor of the wrong size, or missing; names the tensor (and where it came from) and both shapes. */
export class SaeShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SaeShapeError";
  }
}

/** spec §4: the tensors of each architecture, in SAELens order, with their shapes. */
export function paramShapes(architecture: Architecture, { dIn, dSae }: SaeShape): [ParamName, number[]][] {
  switch (architecture) {
    case "standard":
    case "topk":
      return [["W_enc", [dIn, dSae]], ["b_enc", [dSae]], ["W_dec", [dSae, dIn]], ["b_dec", [dIn]]];
    case "jumprelu":
      return [["W_enc", [dIn, dSae]], ["b_enc", [dSae]], ["W_dec", [dSae, dIn]], ["b_dec", [dIn]], ["threshold", [dSae]]];
    case "gated":
      return [
        ["W_enc", [dIn, dSae]], ["b_gate", [dSae]], ["b_mag", [dSae]], ["r_mag", [dSae]],
        ["W_dec", [dSae, dIn]], ["b_dec", [dIn]],
      ];
  }
}

function checkShape({ dIn, dSae }: SaeShape): void {
  for (const [name, value] of [["dIn", dIn], ["dSae", dSae]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new SaeShapeError(`SAE shape: ${name} = ${value}, expected a positive integer`);
  }
}

/** Zero-filled parameters of an architecture. */
export function zeroParams(architecture: Architecture, shape: SaeShape): SaeParams {
  checkShape(shape);
  const params: Partial<Record<ParamName, Float32Array>> = {};
  for (const [name, dims] of paramShapes(architecture, shape)) params[name] = new Float32Array(dims.reduce((a, b) => a * b, 1));
  return params as SaeParams;
}

/** Checks that `params` holds exactly the architecture's tensors at their sizes; `label` says where they came from. */
export function checkParams(architecture: Architecture, shape: SaeShape, params: SaeParams, label: string): void {
  checkShape(shape);
  const expected = paramShapes(architecture, shape);
  const present = params as unknown as Partial<Record<ParamName, Float32Array>>;
  for (const [name, dims] of expected) {
    const tensor = present[name];
    const size = dims.reduce((a, b) => a * b, 1);
    if (!(tensor instanceof Float32Array)) throw new SaeShapeError(`${label}: tensor ${name} [${dims.join(", ")}] is missing (architecture ${architecture})`);
    if (tensor.length !== size) {
      throw new SaeShapeError(`${label}: tensor ${name} has ${tensor.length} elements, expected [${dims.join(", ")}] = ${size}`);
    }
  }
  for (const name of PARAM_NAMES) {
    if (present[name] !== undefined && !expected.some(([expectedName]) => expectedName === name)) {
      throw new SaeShapeError(`${label}: tensor ${name} does not belong to architecture ${architecture}`);
    }
  }
}

/** What the inference form needs besides the tensors (spec §4 cfg fields). */
export interface SaeSpec extends SaeShape {
  architecture: Architecture;
  /** x − b_dec enters the encoder (SAELens apply_b_dec_to_input): true except for GDM JumpReLU. */
  applyBDecToInput: boolean;
  /** topk: features kept per token (cfg k); batch_topk saved as jumprelu: its k (metadata only). */
  k?: number;
  /** topk: the inference threshold θ (metadata topk_threshold; −1 = never updated). */
  topkThreshold?: number;
  /** topk: encode a ⊙ 1[a > θ] instead of the top-k (dictionary_learning encode(use_threshold=True)). */
  useThreshold?: boolean;
}

/** An SAE in inference form; encode/decode read `params` live (a trainer's Sae follows its training). */
export interface Sae {
  readonly spec: SaeSpec;
  readonly params: SaeParams;
  /** f [B, dSae] of x [B, dIn]; writes into `out` when given. */
  encode(x: Float32Array, batchSize: number, out?: Float32Array): Float32Array;
  /** x̂ = f·W_dec + b_dec [B, dIn] of f [B, dSae]; writes into `out` when given. */
  decode(features: Float32Array, batchSize: number, out?: Float32Array): Float32Array;
}

function checkBatch(what: string, array: Float32Array, batchSize: number, cols: number, arg: string): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new SaeShapeError(`${what}: batch size ${batchSize} is not a positive integer`);
  if (array.length !== batchSize * cols) {
    throw new SaeShapeError(`${what}: ${arg} has ${array.length} elements, expected [${batchSize}, ${cols}] = ${batchSize * cols}`);
  }
}

/** The encoder's input: x − b_dec when applyBDecToInput, else x itself. */
function encoderInput(kernels: Kernels, spec: SaeSpec, params: SaeParams, x: Float32Array): Float32Array {
  if (!spec.applyBDecToInput) return x;
  const negatedBias = new Float32Array(spec.dIn);
  kernels.axpy(-1, params.b_dec, negatedBias);
  const input = new Float32Array(x.length);
  kernels.biasAdd(x, negatedBias, input, false);
  return input;
}

/** spec §2.1 inference: f = ReLU((x − b_dec)·W_enc + b_enc); b_dec is subtracted only when applyBDecToInput. */
function encodeStandard(kernels: Kernels, spec: SaeSpec, params: SaeParams, x: Float32Array, batchSize: number, out: Float32Array): void {
  const { dIn, dSae } = spec;
  kernels.sgemm(false, false, batchSize, dSae, dIn, 1, encoderInput(kernels, spec, params, x), params.W_enc, 0, out);
  kernels.biasAdd(out, params.b_enc!, out, true);
}

/**
 * spec §2.3 inference: u = (x − b_dec)·W_enc, f = 1[u + b_gate > 0]·ReLU(u·exp(r_mag) + b_mag) (the same float32
 * arithmetic as the trainer's forward pass, sae/trainers/gated-sae.ts).
 */
function encodeGated(kernels: Kernels, spec: SaeSpec, params: SaeParams, x: Float32Array, batchSize: number, out: Float32Array): void {
  const { dIn, dSae } = spec;
  const { b_gate, b_mag, r_mag } = params as Required<SaeParams>;
  kernels.sgemm(false, false, batchSize, dSae, dIn, 1, encoderInput(kernels, spec, params, x), params.W_enc, 0, out);
  const magnitudeScale = new Float32Array(dSae);
  for (let i = 0; i < dSae; i++) magnitudeScale[i] = Math.exp(r_mag[i]);
  for (let o = 0; o < out.length; o += dSae) {
    for (let i = 0; i < dSae; i++) {
      const encoded = out[o + i];
      const magnitude = Math.fround(encoded * magnitudeScale[i]) + b_mag[i];
      out[o + i] = Math.fround(encoded + b_gate[i]) > 0 && magnitude > 0 ? magnitude : 0;
    }
  }
}

/**
 * spec §2.6, §2.7 inference (SAELens JumpReLU): f = ReLU(z) ⊙ 1[z > θ], z = (x − b_dec if applyBDecToInput)·W_enc + b_enc.
 * That is z ⊙ 1[z > θ] for θ ≥ 0 (GDM JumpReLU) and BatchTopK's a ⊙ 1[a > θ], a = ReLU(z), for any θ (its θ starts at −1).
 */
function encodeJumpRelu(kernels: Kernels, spec: SaeSpec, params: SaeParams, x: Float32Array, batchSize: number, out: Float32Array): void {
  encodeStandard(kernels, spec, params, x, batchSize, out); // a = ReLU(z)
  const threshold = params.threshold!;
  const { dSae } = spec;
  for (let o = 0; o < out.length; o += dSae) for (let i = 0; i < dSae; i++) if (out[o + i] <= threshold[i]) out[o + i] = 0;
}

/** spec §2.5 inference: a = ReLU((x − b_dec)·W_enc + b_enc); the k largest per row (ties → lower index), or a ⊙ 1[a > θ]. */
function encodeTopK(kernels: Kernels, spec: SaeSpec, params: SaeParams, x: Float32Array, batchSize: number, out: Float32Array): void {
  const { dSae, k, topkThreshold } = spec;
  encodeStandard(kernels, spec, params, x, batchSize, out); // a = ReLU(z)
  if (spec.useThreshold) {
    if (topkThreshold === undefined) throw new SaeShapeError("Sae.encode (topk): useThreshold needs spec.topkThreshold");
    for (let i = 0; i < out.length; i++) if (out[i] <= topkThreshold) out[i] = 0;
    return;
  }
  if (k === undefined || !Number.isInteger(k) || k < 1 || k > dSae) throw new SaeShapeError(`Sae.encode (topk): k = ${k}, expected an integer in [1, ${dSae}]`);
  const scratch = new Float32Array(dSae);
  for (let b = 0; b < batchSize; b++) keepTopK(out, out, b * dSae, dSae, k, scratch);
}

function encodeInto(kernels: Kernels, spec: SaeSpec, params: SaeParams, x: Float32Array, batchSize: number, out: Float32Array): void {
  switch (spec.architecture) {
    case "standard":
      return encodeStandard(kernels, spec, params, x, batchSize, out);
    case "gated":
      return encodeGated(kernels, spec, params, x, batchSize, out);
    case "jumprelu":
      return encodeJumpRelu(kernels, spec, params, x, batchSize, out);
    case "topk":
      return encodeTopK(kernels, spec, params, x, batchSize, out);
  }
}

/** The inference-form SAE over `params` (checked against the spec). */
export function createSae(kernels: Kernels, spec: SaeSpec, params: SaeParams): Sae {
  checkParams(spec.architecture, spec, params, `Sae (${spec.architecture})`);
  const { dIn, dSae } = spec;
  return {
    spec,
    params,
    encode(x, batchSize, out = new Float32Array(batchSize * dSae)) {
      checkBatch("Sae.encode", x, batchSize, dIn, "x");
      checkBatch("Sae.encode", out, batchSize, dSae, "out");
      encodeInto(kernels, spec, params, x, batchSize, out);
      return out;
    },
    decode(features, batchSize, out = new Float32Array(batchSize * dIn)) {
      checkBatch("Sae.decode", features, batchSize, dSae, "features");
      checkBatch("Sae.decode", out, batchSize, dIn, "out");
      kernels.sgemm(false, false, batchSize, dIn, dSae, 1, features, params.W_dec, 0, out);
      kernels.biasAdd(out, params.b_dec, out, false);
      return out;
    },
  };
}
