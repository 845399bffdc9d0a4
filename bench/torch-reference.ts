// The PyTorch reference scripts of bench/reference/: finding them (from the sources or from dist/bench) and the
// system interpreter that runs them, and telling when that interpreter has no torch.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

// Debian's python3-torch lives under the system interpreter, not the pyenv python3 on PATH
export const SYSTEM_PYTHON = "/usr/bin/python3";

/** bench/reference/<name> from the sources (tsx) or from dist/bench. */
export function referenceScript(name: string): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, "reference", name), path.join(here, "..", "..", "bench", "reference", name)];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) throw new Error(`bench/reference/${name} not found (looked at ${candidates.join(", ")})`);
  return found;
}

/** Why the system interpreter cannot run the references, or undefined when it can import torch. */
export function torchMissingReason(): string | undefined {
  const check = spawnSync(SYSTEM_PYTHON, ["-c", "import torch"], { encoding: "utf8" });
  if (check.error) return `${SYSTEM_PYTHON}: ${check.error.message}`;
  if (check.status !== 0) return `${SYSTEM_PYTHON} cannot import torch (apt-get install python3-torch)`;
  return undefined;
}
