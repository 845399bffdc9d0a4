// Splits PGN text into games (spec boards.md §2.3): tag pairs become headers, and the movetext is reduced to its
// main-line SAN tokens while it streams past: `{…}` comments (clock and eval annotations included), `;` line
// comments, `%` escape lines, `(…)` variations at any depth, `$n` NAGs, `!`/`?` glyphs and move numbers are
// dropped and the result token is kept apart. Only one game is held at a time.

import { PgnFileError } from "./pgn-file.js";

/** One game as written in the file: its tag pairs and its main-line move tokens, not yet checked for legality. */
export interface PgnGame {
  /** Tag pairs in file order (a repeated tag keeps its last value). */
  headers: Map<string, string>;
  /** Main-line move tokens as written, without move numbers and glyphs (`e4`, `Nf3+`, `exd8=Q#`, `O-O`). */
  sans: string[];
  /** The game termination token of the movetext (`1-0`, `0-1`, `1/2-1/2`, `*`), null when missing. */
  resultToken: string | null;
  /** 1-based line where the game starts in its file. */
  line: number;
}

const RESULT_TOKENS = new Set(["1-0", "0-1", "1/2-1/2", "*"]);
/** One movetext piece after optional whitespace: a delimiter, a NAG (`$` glued to its move too) or a token. */
const MOVETEXT_PIECE = /\s*([{}();]|\$\d*|[^\s{}();$]+)/y;
const TAG_PAIR = /\s*\[\s*([A-Za-z0-9_+#=:-]+)\s*"((?:[^"\\]|\\.)*)"\s*\]\s*/y;

/** The tag pairs of one header line (PGN allows several per line); a malformed line is a PgnFileError. */
export function parseTagLine(text: string, file: string, line: number): Array<[string, string]> {
  const tags: Array<[string, string]> = [];
  TAG_PAIR.lastIndex = 0;
  while (TAG_PAIR.lastIndex < text.length) {
    const start = TAG_PAIR.lastIndex;
    const match = TAG_PAIR.exec(text);
    if (match === null) {
      const shown = text.length > 80 ? `${text.slice(0, 80)}…` : text;
      throw new PgnFileError(file, line, `malformed tag pair at column ${start + 1}: ${JSON.stringify(shown)}`);
    }
    tags.push([match[1], match[2].replace(/\\(["\\])/g, "$1")]);
  }
  return tags;
}

/** Reduces one movetext token to a move (or "" for a move number or lone glyph). */
function moveOfToken(token: string): string {
  const move = token.replace(/^\d+\.+/, "").replace(/^\.+/, ""); // "12.", "12...", "12.e4", a lone "..."
  if (/^\d+$/.test(move)) return ""; // a move number without its dot
  return move.replace(/^0-0(-0)?/, (castling) => castling.replace(/0/g, "O")).replace(/[!?]+$/, "");
}

/** Incremental state of the game being read. */
class GameBuilder {
  readonly headers = new Map<string, string>();
  readonly sans: string[] = [];
  resultToken: string | null = null;
  /** A blank or movetext line has ended the tag section, so the next tag line starts a new game. */
  inMovetext = false;
  constructor(readonly line: number) {}
  get empty(): boolean {
    return this.headers.size === 0 && this.sans.length === 0 && this.resultToken === null;
  }
  build(): PgnGame {
    return { headers: this.headers, sans: this.sans, resultToken: this.resultToken, line: this.line };
  }
}

/**
 * The games of a PGN text stream, one at a time. `file` names the source in errors: a malformed tag pair, an
 * unmatched `)` or `}`, or a comment or variation still open at the end of its game is a PgnFileError with the line.
 */
export async function* readPgnGames(chunks: AsyncIterable<string>, file: string): AsyncGenerator<PgnGame> {
  let game = new GameBuilder(1);
  let lineNumber = 0;
  let commentLine = 0; // > 0 while inside a {…} comment: the line where it opened
  const variationLines: number[] = []; // lines of the open "(" of the current variations
  const ready: PgnGame[] = [];

  const finishGame = (nextLine: number): void => {
    if (variationLines.length > 0) {
      throw new PgnFileError(file, variationLines[0], "variation '(' is never closed before the game ends");
    }
    if (!game.empty) ready.push(game.build());
    game = new GameBuilder(nextLine);
  };

  const addToken = (token: string): void => {
    if (variationLines.length > 0) return;
    if (RESULT_TOKENS.has(token)) {
      game.resultToken = token;
      return;
    }
    const move = moveOfToken(token);
    if (move === "") return;
    if (game.resultToken !== null) finishGame(lineNumber); // moves after a result start a game without tags
    if (game.empty) game = new GameBuilder(lineNumber);
    game.inMovetext = true;
    game.sans.push(move);
  };

  const readMovetext = (text: string): void => {
    let index = 0;
    while (index < text.length) {
      if (commentLine > 0) {
        const close = text.indexOf("}", index);
        if (close < 0) return;
        commentLine = 0;
        index = close + 1;
        continue;
      }
      MOVETEXT_PIECE.lastIndex = index;
      const match = MOVETEXT_PIECE.exec(text);
      if (match === null) return; // only whitespace left
      index = MOVETEXT_PIECE.lastIndex;
      const piece = match[1];
      switch (piece[0]) {
        case "{":
          commentLine = lineNumber;
          break;
        case "}":
          throw new PgnFileError(file, lineNumber, `unmatched '}' at column ${index}`);
        case ";": // comment to the end of the line
          return;
        case "(":
          variationLines.push(lineNumber);
          break;
        case ")":
          if (variationLines.pop() === undefined) throw new PgnFileError(file, lineNumber, `unmatched ')' at column ${index}`);
          break;
        case "$": // NAG
          break;
        default:
          addToken(piece);
      }
    }
  };

  const readLine = (raw: string): void => {
    lineNumber++;
    let text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (lineNumber === 1 && text.startsWith("\uFEFF")) text = text.slice(1);
    if (commentLine === 0) {
      if (text.startsWith("%")) return; // PGN escape line
      const trimmed = text.trimStart();
      if (trimmed.startsWith("[")) {
        if (game.inMovetext) finishGame(lineNumber);
        if (game.empty) game = new GameBuilder(lineNumber);
        for (const [name, value] of parseTagLine(trimmed, file, lineNumber)) game.headers.set(name, value);
        return;
      }
      if (trimmed === "") {
        if (!game.empty) game.inMovetext = true;
        return;
      }
      if (!game.empty || game.headers.size > 0) game.inMovetext = true;
    }
    readMovetext(text);
  };

  // games completed before a malformed line are still delivered, then the error
  const readLines = function* (lines: readonly string[], atEnd: boolean): Generator<PgnGame> {
    let failure: unknown = null;
    try {
      for (const line of lines) readLine(line);
      if (atEnd) {
        if (commentLine > 0) throw new PgnFileError(file, commentLine, "comment '{' is never closed");
        finishGame(lineNumber + 1);
      }
    } catch (error) {
      failure = error;
    }
    yield* ready.splice(0);
    if (failure !== null) throw failure;
  };

  let carry = "";
  for await (const chunk of chunks) {
    const lines = (carry + chunk).split("\n");
    carry = lines.pop()!;
    yield* readLines(lines, false);
  }
  yield* readLines(carry === "" ? [] : [carry], true);
}
