// Content addressing: a stage's key is the hash of everything that determines its outputs.

import { createHash } from "node:crypto";

/** JSON with object keys sorted at every depth, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item && typeof item === "object" && !Array.isArray(item)) {
      const entries = Object.entries(item as Record<string, unknown>).filter(([, v]) => v !== undefined);
      entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return Object.fromEntries(entries);
    }
    return item;
  });
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Characters of the hash kept in directory names. */
export const KEY_LENGTH = 16;

/** key = hash(stage name, stage code version, config slice, upstream keys). */
export function stageKey(stage: string, version: string, config: unknown, upstream: Record<string, string>): string {
  return sha256Hex(canonicalJson({ stage, version, config, upstream })).slice(0, KEY_LENGTH);
}
