// Movetext (spec boards.md §2.2): `;1.e4 e5 2.Nf3 Nc6` — leading `;`, move number and `.` glued to White's SAN,
// single spaces, no result token and no trailing space.

export class ChessMovetextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChessMovetextError";
  }
}

/** Text written before the SAN of half-move `ply` (0-based): ";1." for the first, " 2." for ply 2, " " for Black. */
export function movetextPrefix(ply: number): string {
  if (ply === 0) return ";1.";
  return ply % 2 === 0 ? ` ${ply / 2 + 1}.` : " ";
}

/** SANs in play order → movetext. */
export function formatChessMovetext(sans: readonly string[]): string {
  let text = "";
  for (let ply = 0; ply < sans.length; ply++) {
    const san = sans[ply];
    if (san.length === 0 || /\s/.test(san)) {
      throw new ChessMovetextError(`SAN of half-move ${ply} must be non-empty without whitespace, got ${JSON.stringify(san)}`);
    }
    text += movetextPrefix(ply) + san;
  }
  return text;
}

const WORD_PREFIX = /^;?(?:\d+\.)?/;

/** A movetext word without its leading `;` and `<digits>.` prefix (spec §3.3): ";1.e4" → "e4", "2.Nf" → "Nf". */
export function sanOfWord(word: string): string {
  return word.replace(WORD_PREFIX, "");
}

/** Movetext → SANs, one per space-separated word (legality is checked by replay, not here). */
export function parseChessMovetext(movetext: string): string[] {
  if (movetext.length === 0) return [];
  return movetext.split(" ").map((word, index) => {
    const san = sanOfWord(word);
    if (san.length === 0) throw new ChessMovetextError(`word ${index} (${JSON.stringify(word)}) of the movetext holds no move`);
    return san;
  });
}
