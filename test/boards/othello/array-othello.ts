// A deliberately plain Othello for tests: an Int8Array board and an 8-direction walk, sharing no code with
// boards/othello (so the engine and the BSPs are checked against an independent implementation).

const DIRECTIONS = [[-1, -1], [-1, 0], [-1, 1], [0, -1], [0, 1], [1, -1], [1, 0], [1, 1]] as const;

/** The start position, black (1) to move; white is -1, empty 0, square id = row·8 + column. */
export class ArrayOthello {
  readonly cells = new Int8Array(64);
  toMove = 1;
  over = false;
  /** Discs the last move flipped, ascending. */
  flipped: number[] = [];
  /** Legal moves of toMove, empty once over. */
  moves: number[] = [];

  constructor() {
    this.cells[27] = -1;
    this.cells[36] = -1;
    this.cells[28] = 1;
    this.cells[35] = 1;
  }

  private flipsFor(square: number, player: number): number[] {
    if (this.cells[square] !== 0) return [];
    const flips: number[] = [];
    for (const [dr, dc] of DIRECTIONS) {
      const run: number[] = [];
      let r = Math.floor(square / 8) + dr;
      let c = (square % 8) + dc;
      while (r >= 0 && r < 8 && c >= 0 && c < 8 && this.cells[r * 8 + c] === -player) {
        run.push(r * 8 + c);
        r += dr;
        c += dc;
      }
      if (run.length > 0 && r >= 0 && r < 8 && c >= 0 && c < 8 && this.cells[r * 8 + c] === player) flips.push(...run);
    }
    return flips;
  }

  legal(player = this.toMove): number[] {
    const moves: number[] = [];
    for (let square = 0; square < 64; square++) if (this.flipsFor(square, player).length > 0) moves.push(square);
    return moves;
  }

  /** Plays for toMove, then passes when the other side has no move; over when neither has one. */
  play(square: number): void {
    const flips = this.flipsFor(square, this.toMove);
    if (this.over || flips.length === 0) throw new Error(`array othello: illegal ${square}`);
    this.cells[square] = this.toMove;
    for (const flip of flips) this.cells[flip] = this.toMove;
    this.flipped = flips.sort((a, b) => a - b);
    const mover = this.toMove;
    this.toMove = -mover;
    this.moves = this.legal();
    if (this.moves.length > 0) return;
    this.toMove = mover;
    this.moves = this.legal();
    if (this.moves.length > 0) return;
    this.toMove = -mover;
    this.over = true;
  }
}
