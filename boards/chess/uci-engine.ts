// A UCI chess engine in a child process (spec boards.md §2.3): `uci`/`uciok`, `setoption`, `isready`/`readyok`,
// `ucinewgame`, `position startpos moves …` + `go …` → `bestmove`. The engine (e.g. Debian's GPL `stockfish`) is
// an external program found on PATH or /usr/games, never bundled; a missing binary is an error, never a fallback.

import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import path from "node:path";

/** Folders searched after PATH: Debian installs games (stockfish included) in /usr/games, often not on PATH. */
export const EXTRA_ENGINE_DIRS = ["/usr/games", "/usr/local/games"];

export class UciEngineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The engine binary is not an executable file at any path tried. */
export class EngineNotFoundError extends UciEngineError {
  constructor(
    readonly binary: string,
    readonly tried: readonly string[],
  ) {
    super(`UCI engine "${binary}" not found: no executable file at ${tried.join(", ")} (install it, e.g. apt-get install stockfish, or give its path)`);
  }
}

/** The engine did not answer a command in time (it has been killed). */
export class EngineTimeoutError extends UciEngineError {
  constructor(engine: string, command: string, expected: string, timeoutMs: number) {
    super(`UCI engine ${engine}: no "${expected}" within ${timeoutMs} ms after "${command}"; the process was killed`);
  }
}

/** The engine process ended while it was expected to answer. */
export class EngineExitedError extends UciEngineError {
  constructor(engine: string, command: string, code: number | null, signal: string | null, stderr: string) {
    const how = signal !== null ? `killed by ${signal}` : `exited with code ${code}`;
    super(`UCI engine ${engine} ${how} after "${command}"${stderr.trim() ? `; stderr: ${stderr.trim()}` : ""}`);
  }
}

/** The engine said something the protocol does not allow (an unknown option, a malformed or illegal bestmove). */
export class EngineProtocolError extends UciEngineError {}

/** The executable for `binary`: a path (with "/") is checked as is, a bare name is looked up on PATH, then /usr/games. */
export function resolveEngineBinary(binary: string, searchPath: string = process.env.PATH ?? ""): string {
  const candidates = binary.includes("/")
    ? [path.resolve(binary)]
    : [...new Set([...searchPath.split(path.delimiter).filter((dir) => dir !== ""), ...EXTRA_ENGINE_DIRS])].map((dir) =>
        path.join(dir, binary),
      );
  for (const candidate of candidates) {
    try {
      if (statSync(candidate).isFile()) {
        accessSync(candidate, constants.X_OK);
        return candidate;
      }
    } catch {
      // not there or not executable: try the next folder
    }
  }
  throw new EngineNotFoundError(binary, candidates);
}

/** How long the engine may think: one of `go depth D`, `go nodes N`, `go movetime T`. */
export type SearchLimit = { depth: number } | { nodes: number } | { movetimeMs: number };

export function goCommand(limit: SearchLimit): string {
  if ("depth" in limit) return `go depth ${limit.depth}`;
  if ("nodes" in limit) return `go nodes ${limit.nodes}`;
  return `go movetime ${limit.movetimeMs}`;
}

export interface UciEngineOptions {
  /** Binary name or path; default `stockfish`. */
  binary?: string;
  args?: readonly string[];
  /** Longest wait for any answer (for `go movetime T`, T is added). */
  timeoutMs?: number;
}

const UCI_MOVE = /^[a-h][1-8][a-h][1-8][qrbn]?$/;

/** One engine process. Commands are sequential: each method waits for its answer before the next may be sent. */
export class UciEngine {
  /** The engine's `id name` (e.g. "Stockfish 15.1"). */
  name = "";
  /** Option names the engine announced after `uci`. */
  readonly options = new Set<string>();
  private listener: ((line: string) => void) | null = null;
  private failPending: ((error: Error) => void) | null = null;
  private exit: { code: number | null; signal: string | null } | null = null;
  private stderrTail = "";
  private lastCommand = "(start)";

  private constructor(
    readonly path: string,
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly timeoutMs: number,
  ) {
    let partial = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (data: string) => {
      const lines = (partial + data).split("\n");
      partial = lines.pop()!;
      for (const line of lines) this.listener?.(line.replace(/\r$/, ""));
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (data: string) => {
      this.stderrTail = (this.stderrTail + data).slice(-2000);
    });
    child.stdin.on("error", () => {}); // EPIPE after a crash; the exit handler reports it
    const onEnd = (code: number | null, signal: string | null) => {
      this.exit ??= { code, signal };
      this.failPending?.(new EngineExitedError(this.path, this.lastCommand, code, signal, this.stderrTail));
    };
    child.on("exit", onEnd);
    child.on("error", (error) => {
      this.exit ??= { code: null, signal: null };
      this.failPending?.(new UciEngineError(`UCI engine ${this.path}: ${error.message}`));
    });
  }

  /** Starts the engine and completes the `uci` handshake. */
  static async start(options: UciEngineOptions = {}): Promise<UciEngine> {
    const binary = resolveEngineBinary(options.binary ?? "stockfish");
    const child = spawn(binary, [...(options.args ?? [])], { stdio: ["pipe", "pipe", "pipe"] });
    const engine = new UciEngine(binary, child, options.timeoutMs ?? 30_000);
    try {
      await engine.request("uci", (line) => {
        if (line.startsWith("id name ")) engine.name = line.slice(8).trim();
        const option = /^option name (.+?) type /.exec(line);
        if (option !== null) engine.options.add(option[1]);
        return line.trim() === "uciok";
      }, "uciok");
    } catch (error) {
      engine.kill();
      throw error;
    }
    return engine;
  }

  /** `setoption`; an option the engine did not announce is an error (a silent no-op would change the data). */
  setOption(name: string, value: string | number | boolean): void {
    if (!this.options.has(name)) {
      throw new EngineProtocolError(
        `UCI engine ${this.path} has no option "${name}" (it announced: ${[...this.options].join(", ") || "none"})`,
      );
    }
    this.send(`setoption name ${name} value ${value}`);
  }

  async isReady(): Promise<void> {
    await this.request("isready", (line) => line.trim() === "readyok", "readyok");
  }

  /** `ucinewgame`: the engine forgets the previous game (Stockfish clears its hash), then `isready`. */
  async newGame(): Promise<void> {
    this.send("ucinewgame");
    await this.isReady();
  }

  /** The engine's move (UCI, e.g. `e7e8q`) after `moves` (UCI) from the initial position. */
  async bestMove(moves: readonly string[], limit: SearchLimit): Promise<string> {
    const position = moves.length === 0 ? "position startpos" : `position startpos moves ${moves.join(" ")}`;
    this.send(position);
    const go = goCommand(limit);
    const extraMs = "movetimeMs" in limit ? limit.movetimeMs : 0;
    const line = await this.request(go, (text) => text.startsWith("bestmove"), "bestmove", this.timeoutMs + extraMs);
    const move = line.split(/\s+/)[1] ?? "";
    if (!UCI_MOVE.test(move)) {
      throw new EngineProtocolError(
        `UCI engine ${this.path}: "${line}" after "${position}" and "${go}" is not a move`,
      );
    }
    return move;
  }

  /** Sends `quit` and waits briefly; kills the process if it is still there. Safe to call more than once. */
  async close(graceMs = 1000): Promise<void> {
    if (!this.running) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    try {
      this.send("quit");
    } catch {
      // already gone; the exit event settles `exited`
    }
    const timer = setTimeout(() => this.kill(), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** Ends the process now. */
  kill(): void {
    if (this.running) this.child.kill("SIGKILL");
  }

  /** The process id (for logs and for checking that it is gone). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The process has not exited (nor failed to start). */
  get running(): boolean {
    return this.exit === null && this.child.exitCode === null && this.child.signalCode === null;
  }

  private send(command: string): void {
    if (this.exit !== null) {
      throw new EngineExitedError(this.path, command, this.exit.code, this.exit.signal, this.stderrTail);
    }
    this.lastCommand = command;
    this.child.stdin.write(`${command}\n`);
  }

  /** Sends `command` and resolves with the first line for which `done` is true. */
  private request(command: string, done: (line: string) => boolean, expected: string, timeoutMs = this.timeoutMs): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const finish = (error: Error | null, line = "") => {
        clearTimeout(timer);
        this.listener = null;
        this.failPending = null;
        if (error === null) resolve(line);
        else reject(error);
      };
      const timer = setTimeout(() => {
        this.kill();
        finish(new EngineTimeoutError(this.path, command, expected, timeoutMs));
      }, timeoutMs);
      this.listener = (line) => {
        if (done(line)) finish(null, line);
      };
      this.failPending = (error) => finish(error);
      try {
        this.send(command);
      } catch (error) {
        finish(error as Error);
      }
    });
  }
}
