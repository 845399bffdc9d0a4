// A measurement in a fresh Node process, so the peak RSS it reports is its own: the script takes one JSON request
// argument and prints one JSON line on stdout (progress on stderr, passed through).

import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** `name` next to this file: .js in dist/, .ts under tsx. */
export function benchScript(name: string): string {
  const here = fileURLToPath(import.meta.url);
  return path.join(path.dirname(here), `${name}${path.extname(here)}`);
}

/** Runs bench/`name` with `request` in a child Node process (this process's loader flags, e.g. tsx, passed on). */
export function runBenchProcess<T>(name: string, request: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, benchScript(name), JSON.stringify(request)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code !== 0) {
        reject(new Error(`${name} exited ${code ?? signal} (its stderr is above)`));
        return;
      }
      resolve(JSON.parse(stdout.trim().split("\n").pop() ?? "") as T);
    });
  });
}
