import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  EngineExitedError,
  EngineNotFoundError,
  EngineProtocolError,
  EngineTimeoutError,
  goCommand,
  resolveEngineBinary,
  UciEngine,
} from "../../../boards/chess/uci-engine.js";
import { writeFakeUciEngine } from "./fake-uci-engine.js";

const scratch = mkdtempSync(path.join(tmpdir(), "uci-engine-"));

function processGone(pid: number | undefined): boolean {
  try {
    process.kill(pid!, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

describe("resolveEngineBinary", () => {
  it("looks a bare name up on PATH, then /usr/games and /usr/local/games", () => {
    const dir = mkdtempSync(path.join(scratch, "bin-"));
    const binary = path.join(dir, "myengine");
    writeFileSync(binary, "#!/bin/sh\n");
    chmodSync(binary, 0o755);
    expect(resolveEngineBinary("myengine", `/nonexistent-dir${path.delimiter}${dir}`)).toBe(binary);
    expect(resolveEngineBinary(binary, "")).toBe(binary);
  });

  it("names every path tried when the engine is missing or not executable", () => {
    expect(() => resolveEngineBinary("no-such-engine", "/opt/a:/opt/b")).toThrow(
      new EngineNotFoundError("no-such-engine", [
        "/opt/a/no-such-engine",
        "/opt/b/no-such-engine",
        "/usr/games/no-such-engine",
        "/usr/local/games/no-such-engine",
      ]),
    );
    expect(() => resolveEngineBinary("/nowhere/stockfish")).toThrow(
      'UCI engine "/nowhere/stockfish" not found: no executable file at /nowhere/stockfish (install it, e.g. apt-get install stockfish, or give its path)',
    );
    const plain = path.join(scratch, "not-executable");
    writeFileSync(plain, "#!/bin/sh\n");
    chmodSync(plain, 0o644);
    expect(() => resolveEngineBinary(plain)).toThrow(EngineNotFoundError);
  });
});

describe("goCommand", () => {
  it("writes the three search limits", () => {
    expect([goCommand({ depth: 6 }), goCommand({ nodes: 5000 }), goCommand({ movetimeMs: 50 })]).toEqual([
      "go depth 6",
      "go nodes 5000",
      "go movetime 50",
    ]);
  });
});

describe("UciEngine against a fake engine", () => {
  it("does the handshake, sets options and reads bestmove (ignoring info lines and ponder moves)", async () => {
    const fake = writeFakeUciEngine(scratch, { script: ["e2e4", "e7e5"], ponder: true });
    const engine = await UciEngine.start({ binary: fake.binary });
    try {
      expect(engine.name).toBe("FakeFish 1.0");
      expect([...engine.options]).toEqual(["Threads", "Hash", "Skill Level"]);
      engine.setOption("Skill Level", 5);
      await engine.newGame();
      expect(await engine.bestMove([], { depth: 3 })).toBe("e2e4");
      expect(await engine.bestMove(["e2e4"], { nodes: 100 })).toBe("e7e5");
      expect(() => engine.setOption("Contempt", 10)).toThrow(
        new EngineProtocolError(`UCI engine ${fake.binary} has no option "Contempt" (it announced: Threads, Hash, Skill Level)`),
      );
    } finally {
      await engine.close();
    }
    expect(engine.running).toBe(false);
    expect(fake.log()).toEqual([
      "uci",
      "setoption name Skill Level value 5",
      "ucinewgame",
      "isready",
      "position startpos",
      "go depth 3",
      "position startpos moves e2e4",
      "go nodes 100",
      "quit",
    ]);
  });

  it("times out on a silent engine and kills it", async () => {
    const fake = writeFakeUciEngine(scratch, { mode: "silent" });
    const engine = await UciEngine.start({ binary: fake.binary, timeoutMs: 300 });
    await expect(engine.bestMove([], { depth: 1 })).rejects.toThrow(
      new EngineTimeoutError(fake.binary, "go depth 1", "bestmove", 300),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(processGone(engine.pid)).toBe(true);
    await engine.close(); // already dead: returns at once
  });

  it("reports a crash with the exit code and stderr", async () => {
    const fake = writeFakeUciEngine(scratch, { mode: "crash" });
    const engine = await UciEngine.start({ binary: fake.binary });
    await expect(engine.bestMove(["e2e4"], { depth: 1 })).rejects.toThrow(
      new EngineExitedError(fake.binary, "go depth 1", 3, null, "fake engine crashed on purpose"),
    );
    await expect(engine.isReady()).rejects.toThrow(EngineExitedError);
  });

  it("rejects a bestmove that is not a move", async () => {
    const fake = writeFakeUciEngine(scratch, { script: ["(none)"] });
    const engine = await UciEngine.start({ binary: fake.binary });
    try {
      await expect(engine.bestMove([], { depth: 1 })).rejects.toThrow(
        `UCI engine ${fake.binary}: "bestmove (none)" after "position startpos" and "go depth 1" is not a move`,
      );
    } finally {
      await engine.close();
    }
  });

  it("kills an engine that ignores quit", async () => {
    const fake = writeFakeUciEngine(scratch, { mode: "stubborn" });
    const engine = await UciEngine.start({ binary: fake.binary });
    const started = performance.now();
    await engine.close(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    expect(engine.running).toBe(false);
    expect(processGone(engine.pid)).toBe(true);
  });

  it("times out a binary that never says uciok", async () => {
    const fake = writeFakeUciEngine(scratch, { mode: "mute" });
    // 2 s: long enough for the fake (a Node script) to start and write its pid on a busy machine.
    await expect(UciEngine.start({ binary: fake.binary, timeoutMs: 2000 })).rejects.toThrow(
      new EngineTimeoutError(fake.binary, "uci", "uciok", 2000),
    );
    const pid = Number(readFileSync(fake.pidFile, "utf8"));
    for (let waited = 0; waited < 5000 && !processGone(pid); waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(processGone(pid)).toBe(true);
  });
});
