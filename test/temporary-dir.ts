// Temporary directories for tests: one maker per test file, each directory removed with its contents after that
// file's tests.

import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll } from "vitest";

/** Call at a test file's top level; the returned function makes a fresh `<tmp>/<prefix>XXXXXX` directory. */
export function temporaryDirs(prefix: string): () => Promise<string> {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  return async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}
