// A directory's files as bytes, for tests that compare whole output trees (a resumed run against a straight one).

import { readdir, readFile } from "node:fs/promises";
import path from "node:path";

/** Every file below `dir` (relative path → bytes), subdirectories included. */
export async function directoryFiles(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const walk = async (sub: string) => {
    for (const entry of await readdir(path.join(dir, sub), { withFileTypes: true })) {
      const relative = path.join(sub, entry.name);
      if (entry.isDirectory()) await walk(relative);
      else files.set(relative, await readFile(path.join(dir, relative)));
    }
  };
  await walk("");
  return files;
}
