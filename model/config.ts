// The GPT's config.json as a zod schema (spec model.md §2) and the presets of §3 as data.

import { z } from "zod";

export const GPT_FORMAT = "sae-circuits.gpt";
export const GPT_FORMAT_VERSION = 1;

const positiveInt = z.number().int().positive();

export const gptConfigSchema = z
  .strictObject({
    format: z.literal(GPT_FORMAT),
    format_version: z.literal(GPT_FORMAT_VERSION),
    model_name: z.string().min(1),
    game: z.enum(["othello", "chess"]),
    tokenizer: z.enum(["othello-61", "chess-32"]),
    n_layers: positiveInt,
    d_model: positiveInt,
    n_heads: positiveInt,
    d_head: positiveInt,
    d_mlp: positiveInt,
    d_vocab: positiveInt,
    n_ctx: positiveInt,
    act_fn: z.enum(["gelu", "gelu_new"]).default("gelu"),
    normalization_type: z.enum(["LN", "LNPre"]).default("LN"),
    eps: z.number().positive().default(1e-5),
    positional_embedding_type: z.literal("standard").default("standard"),
    tied_embeddings: z.boolean().default(false),
    use_bias: z.boolean().default(true),
    attn_scale: z.number().positive().nullable().default(null), // null → √d_head
    dropout: z.number().min(0).lt(1).default(0), // spec §1: training only
    pad_token_id: z.number().int().nonnegative().nullable(),
    init_range: z.number().positive().default(0.02),
    seed: z.number().int().min(0).max(0xffffffff),
    source: z.strictObject({ importer: z.string(), file: z.string(), sha256: z.string() }).nullable().default(null),
    training: z.record(z.string(), z.unknown()).nullable().default(null),
    metrics: z.record(z.string(), z.unknown()).nullable().default(null),
  })
  .superRefine((config, ctx) => {
    if (config.d_model !== config.n_heads * config.d_head) {
      ctx.addIssue({
        code: "custom",
        path: ["d_model"],
        message: `must equal n_heads·d_head = ${config.n_heads}·${config.d_head}, got ${config.d_model}`,
      });
    }
    if (config.pad_token_id !== null && config.pad_token_id >= config.d_vocab) {
      ctx.addIssue({ code: "custom", path: ["pad_token_id"], message: `must be < d_vocab ${config.d_vocab}` });
    }
  });

export type GptConfig = z.output<typeof gptConfigSchema>;
export type GptConfigInput = z.input<typeof gptConfigSchema>;

/** A config.json that fails validation; the message names the file, the field and the value. */
export class GptConfigError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    message: string,
  ) {
    super(`${file}: ${field}: ${message}`);
    this.name = "GptConfigError";
  }
}

/** Parses and validates a config object; `file` names where it came from, for the error. */
export function parseGptConfig(value: unknown, file = "config.json"): GptConfig {
  const parsed = gptConfigSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue.path.length > 0 ? issue.path.join(".") : "(root)";
  let got = value;
  for (const key of issue.path) got = (got as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey];
  throw new GptConfigError(file, field, `${issue.message} (got ${JSON.stringify(got)})`);
}

/** The attention score divisor: attn_scale, or √d_head when null (spec §2). */
export function attentionScale(config: GptConfig): number {
  return config.attn_scale ?? Math.sqrt(config.d_head);
}

/** Parameter count N of spec §1 (biases counted even when use_bias is false: they exist, frozen at 0). */
export function parameterCount(config: GptConfig): number {
  const { d_vocab: V, d_model: d, n_ctx, n_layers: L, d_mlp: dm } = config;
  const perBlock = 4 * d * d + 4 * d + 2 * d * dm + dm + d + 4 * d;
  return V * d + n_ctx * d + L * perBlock + 2 * d + (config.tied_embeddings ? 0 : d * V) + V;
}

// ── Presets (spec §3) ──────────────────────────────────────────────────────────────────────────────────────────

type PresetFields = Pick<
  GptConfig,
  "game" | "tokenizer" | "n_layers" | "d_model" | "n_heads" | "d_head" | "d_mlp" | "d_vocab" | "n_ctx" |
  "use_bias" | "tied_embeddings" | "pad_token_id"
>;

const othello = { game: "othello", tokenizer: "othello-61", d_vocab: 61, n_ctx: 59, pad_token_id: 0 } as const;
const chess = { game: "chess", tokenizer: "chess-32", d_vocab: 32, pad_token_id: null } as const;
const withBiases = { use_bias: true, tied_embeddings: false } as const;
const size8l512 = { n_layers: 8, d_model: 512, n_heads: 8, d_head: 64, d_mlp: 2048 } as const;
const size4l128 = { n_layers: 4, d_model: 128, n_heads: 4, d_head: 32, d_mlp: 512 } as const;
const size2l64 = { n_layers: 2, d_model: 64, n_heads: 4, d_head: 16, d_mlp: 256 } as const;

export const GPT_PRESETS = {
  "othello-8l-512": { ...othello, ...size8l512, ...withBiases },
  "chess-8l-512": { ...chess, ...size8l512, n_ctx: 1023, use_bias: false, tied_embeddings: true },
  "othello-4l-128": { ...othello, ...size4l128, ...withBiases },
  "chess-4l-128": { ...chess, ...size4l128, n_ctx: 256, ...withBiases },
  "othello-2l-64": { ...othello, ...size2l64, ...withBiases },
  "chess-2l-64": { ...chess, ...size2l64, n_ctx: 256, ...withBiases },
} as const satisfies Record<string, PresetFields>;

export type GptPresetName = keyof typeof GPT_PRESETS;

/** The full config of a preset, with the given seed and any overrides (validated like a config.json). */
export function presetConfig(name: GptPresetName, seed: number, overrides: Partial<GptConfigInput> = {}): GptConfig {
  const preset = GPT_PRESETS[name];
  if (!preset) {
    throw new GptConfigError("(preset)", "name", `unknown preset "${name}"; known: ${Object.keys(GPT_PRESETS).join(", ")}`);
  }
  return parseGptConfig(
    { format: GPT_FORMAT, format_version: GPT_FORMAT_VERSION, model_name: name, ...preset, seed, ...overrides },
    `preset ${name}`,
  );
}
