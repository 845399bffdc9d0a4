// Scored positions of board metrics (spec boards.md §2.4): the `.` after each move number, where White is to move,
// within the first 256 characters, at most the first 20 per game.

/** SAE work (activations, SAE training, board metrics) reads the first 256 characters of each game (spec §2.2). */
export const CHESS_SAE_CHARS = 256;
/** At most this many scored positions per game; the reference evaluation set keeps games with at least this many. */
export const CHESS_SCORED_PER_GAME = 20;

/** Character indices of the `.`s within the first `chars` characters, at most `maxPositions` of them. */
export function chessScoredPositions(
  movetext: string,
  chars = CHESS_SAE_CHARS,
  maxPositions = CHESS_SCORED_PER_GAME,
): number[] {
  const positions: number[] = [];
  const end = Math.min(chars, movetext.length);
  for (let index = movetext.indexOf("."); index >= 0 && index < end && positions.length < maxPositions; ) {
    positions.push(index);
    index = movetext.indexOf(".", index + 1);
  }
  return positions;
}

/** Number of `.`s within the first `chars` characters (the `minDots` dataset filter counts these). */
export function chessDotCount(movetext: string, chars = CHESS_SAE_CHARS): number {
  let count = 0;
  const end = Math.min(chars, movetext.length);
  for (let index = 0; index < end; index++) if (movetext.charCodeAt(index) === 46) count++;
  return count;
}
