// Chess character vocabulary (spec boards.md §2.1, reference ChessGPT meta.pkl): 32 characters, ids in ascending
// code-point order. Id 0 is the real space and also the padding id, so a length mask, not the id, marks padding.

export const CHESS_VOCAB = " #+-.0123456789;=BKNOQRabcdefghx";
export const CHESS_VOCAB_SIZE = 32;
/** Model context of the reference ChessGPT: inputs are characters 0..1022, targets 1..1023. */
export const CHESS_CONTEXT_LENGTH = 1023;
export const PAD_ID = 0;

/** Character code → id, −1 for characters outside the vocabulary. */
const ID_OF_CODE = new Int8Array(128).fill(-1);
for (let id = 0; id < CHESS_VOCAB.length; id++) ID_OF_CODE[CHESS_VOCAB.charCodeAt(id)] = id;

export class ChessTokenError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "ChessTokenError";
  }
}

/** Movetext → character ids; a character outside the vocabulary is an error naming it and its index. */
export function encodeChessText(text: string): Uint8Array {
  const ids = new Uint8Array(text.length);
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    const id = code < 128 ? ID_OF_CODE[code] : -1;
    if (id < 0) {
      throw new ChessTokenError(
        `character ${JSON.stringify(text[index])} (U+${code.toString(16).padStart(4, "0")}) at index ${index} is not in the chess vocabulary "${CHESS_VOCAB}"`,
      );
    }
    ids[index] = id;
  }
  return ids;
}

/** Character ids → text; padding cannot be told from spaces here, so cut at the mask's length first. */
export function decodeChessIds(ids: ArrayLike<number>): string {
  let text = "";
  for (let index = 0; index < ids.length; index++) {
    const id = ids[index];
    if (!Number.isInteger(id) || id < 0 || id >= CHESS_VOCAB_SIZE) {
      throw new ChessTokenError(`chess character id at index ${index} must be an integer in [0, 31], got ${id}`);
    }
    text += CHESS_VOCAB[id];
  }
  return text;
}

/** A game's ids truncated or right-padded with id 0 to `length`; mask[i] = 1 iff position i holds a real character. */
export function padChessIds(ids: ArrayLike<number>, length: number): { ids: Uint8Array; mask: Uint8Array } {
  if (!Number.isInteger(length) || length < 0) throw new ChessTokenError(`padding length must be a non-negative integer, got ${length}`);
  const padded = new Uint8Array(length);
  const mask = new Uint8Array(length);
  const kept = Math.min(ids.length, length);
  for (let i = 0; i < kept; i++) padded[i] = ids[i];
  mask.fill(1, 0, kept);
  return { ids: padded, mask };
}

/**
 * Next-character prediction pair (spec §2.2): inputs = characters 0..context−1, targets = characters 1..context of the
 * movetext truncated to context + 1 characters; targetMask[i] = 0 where target i is padding (excluded from the loss).
 */
export function chessTrainingPair(
  movetext: string,
  context = CHESS_CONTEXT_LENGTH,
): { inputs: Uint8Array; targets: Uint8Array; targetMask: Uint8Array } {
  if (!Number.isInteger(context) || context < 1) throw new ChessTokenError(`context must be a positive integer, got ${context}`);
  const { ids, mask } = padChessIds(encodeChessText(movetext.slice(0, context + 1)), context + 1);
  return { inputs: ids.subarray(0, context), targets: ids.subarray(1), targetMask: mask.subarray(1) };
}
