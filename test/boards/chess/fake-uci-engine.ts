// A tiny UCI engine for tests: a Node script that answers the protocol with scripted bestmoves (one per ply,
// chosen by the length of the last `position` command) and logs every command it receives.

import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

export interface FakeUciOptions {
  /** bestmove for ply k = script[k]. */
  script?: string[];
  /** silent: never answers go; crash: exits 3 on go; stubborn: ignores quit; mute: never answers uci. */
  mode?: "normal" | "silent" | "crash" | "stubborn" | "mute";
  /** Options announced after `uci`. */
  options?: string[];
  /** Append ` ponder <move>` to bestmove. */
  ponder?: boolean;
}

export interface FakeUciEngine {
  binary: string;
  pidFile: string;
  /** Commands received so far, in order. */
  log(): string[];
}

export function writeFakeUciEngine(folder: string, options: FakeUciOptions = {}): FakeUciEngine {
  const dir = mkdtempSync(path.join(folder, "fake-"));
  const binary = path.join(dir, "fakefish");
  const logFile = path.join(dir, "commands.log");
  const pidFile = path.join(dir, "pid");
  const announced = options.options ?? ["Threads", "Hash", "Skill Level"];
  const source = `#!${process.execPath}
const { appendFileSync, writeFileSync } = require("node:fs");
const { createInterface } = require("node:readline");
const SCRIPT = ${JSON.stringify(options.script ?? [])};
const MODE = ${JSON.stringify(options.mode ?? "normal")};
const OPTIONS = ${JSON.stringify(announced)};
const PONDER = ${JSON.stringify(options.ponder ?? false)};
writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
const out = (line) => process.stdout.write(line + "\\n");
let ply = 0;
createInterface({ input: process.stdin }).on("line", (line) => {
  appendFileSync(${JSON.stringify(logFile)}, line + "\\n");
  const words = line.trim().split(/\\s+/);
  if (line === "uci") {
    if (MODE === "mute") return;
    out("id name FakeFish 1.0");
    out("id author sae-circuits tests");
    for (const name of OPTIONS) out("option name " + name + " type spin default 1 min 0 max 1024");
    out("uciok");
  } else if (line === "isready") {
    out("readyok");
  } else if (words[0] === "position") {
    ply = Math.max(0, words.length - 3);
  } else if (words[0] === "go") {
    if (MODE === "silent") return;
    if (MODE === "crash") {
      process.stderr.write("fake engine crashed on purpose\\n");
      process.exit(3);
    }
    const move = SCRIPT[ply] ?? "(none)";
    out("info depth 1 seldepth 1 score cp 17 nodes 20 pv " + move);
    out("bestmove " + move + (PONDER ? " ponder a7a6" : ""));
  } else if (line === "quit" && MODE !== "stubborn") {
    process.exit(0);
  }
});
process.stdin.on("end", () => { if (MODE !== "stubborn") process.exit(0); });
`;
  writeFileSync(binary, source);
  chmodSync(binary, 0o755);
  return {
    binary,
    pidFile,
    log: () => (existsSync(logFile) ? readFileSync(logFile, "utf8").split("\n").filter((line) => line !== "") : []),
  };
}
