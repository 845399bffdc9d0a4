import { Chess, type Color, type Square } from "chess.js";
import { describe, expect, it } from "vitest";
import { bspNames, bspWidth } from "../../../boards/bsp.js";
import { KING, positionFromFen } from "../../../boards/chess/attacks.js";
import { generateLegalMoves, LegalMoveList } from "../../../boards/chess/legal-moves.js";
import { chessSquareName, parseChessSquare } from "../../../boards/chess/squares.js";
import {
  CHESS_STRATEGY_BY_ID,
  CHESS_STRATEGY_FUNCTIONS,
  chessStrategyFunction,
  packedStrategyValues,
  STRATEGY_IDS,
  STRATEGY_OFFSETS,
  STRATEGY_VALUES_WIDTH,
  strategyValues,
  strategyValuesOfPosition,
  type StrategyId,
  type StrategyValues,
} from "../../../boards/chess/strategy.js";
import { randomBelow, type RandomStream, xoshiro128 } from "../../../boards/random.js";

const values = (fen: string): StrategyValues => strategyValues(new Chess(fen));
const scalar = (fen: string, id: StrategyId): number => values(fen)[id][0];
/** The squares set in an 8×8 map, as names in square-id order. */
const squaresOf = (map: Uint8Array): string[] => {
  const names: string[] = [];
  for (let square = 0; square < 64; square++) if (map[square]) names.push("abcdefgh"[square & 7] + String((square >> 3) + 1));
  return names;
};
const sorted = (names: string[]): string[] => [...names].sort((a, b) => parseChessSquare(a) - parseChessSquare(b));

const START = "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1";

describe("strategy BSP functions (spec §3.1 names, §3.5 shapes)", () => {
  it("lists the 14 functions in spec order with stable names", () => {
    expect(CHESS_STRATEGY_FUNCTIONS.map((fn) => fn.id)).toEqual([...STRATEGY_IDS]);
    expect(CHESS_STRATEGY_FUNCTIONS).toHaveLength(14);
    const threat = chessStrategyFunction("threat");
    expect(bspWidth(threat)).toBe(64);
    expect(bspNames(threat)[0]).toBe("chess.threat.a1");
    expect(bspNames(threat)[7]).toBe("chess.threat.h1");
    expect(bspNames(threat)[53]).toBe("chess.threat.f7"); // row 6 = rank 7, col 5 = file f
    expect(bspNames(chessStrategyFunction("legal_moves"))[28]).toBe("chess.legal_moves.e4");
    expect(bspNames(chessStrategyFunction("pin"))).toEqual(["chess.strategy.pin"]);
    expect(CHESS_STRATEGY_BY_ID.get("any_fork")?.rows).toBe(1);
    expect(() => chessStrategyFunction("forks")).toThrow(/unknown id "forks"/);
  });

  it("returns each function's width for every id, packed in spec order at STRATEGY_OFFSETS", () => {
    const fen = "r3k2r/8/8/3pP3/8/8/8/R3K2R w KQkq d6 0 1";
    const unpacked = values(fen);
    for (const fn of CHESS_STRATEGY_FUNCTIONS) expect(unpacked[fn.id as StrategyId]).toHaveLength(bspWidth(fn));
    const packed = packedStrategyValues(new Chess(fen));
    expect(packed).toHaveLength(STRATEGY_VALUES_WIDTH);
    expect(Array.from(packed)).toEqual(STRATEGY_IDS.flatMap((id) => Array.from(unpacked[id])));
    expect(STRATEGY_OFFSETS.legal_moves).toBe(64);
    expect(STRATEGY_OFFSETS.ambiguous_moves).toBe(139);
  });

  it("leaves the position's board as it found it (moves are made and unmade in place)", () => {
    const position = positionFromFen("r3k2r/8/8/3pP3/8/8/8/R3K2R w KQkq d6 0 1");
    const before = Int8Array.from(position.pieces);
    strategyValuesOfPosition(position);
    expect(position.pieces).toEqual(before);
  });

  it("rejects a malformed FEN naming it", () => {
    expect(() => positionFromFen("8/8/8 w - -")).toThrow(/expected 8 ranks in "8\/8\/8"/);
    expect(() => positionFromFen("4k3/8/8/8/8/8/8/4K3 x - - 0 1")).toThrow(/side to move must be w or b, got "x"/);
  });
});

describe("threat (attacked by O)", () => {
  // White to move: O = Black. Rd4 sees d5–d8 and e4–h4 (empty), d3 then stops on the white pawn d2 (included,
  // d1 not), c4 then stops on the white knight b4 (included, a4 not). Kh8 adds g8, g7, h7.
  const fen = "7k/8/8/8/1N1r4/8/3P4/4K3 w - - 0 1";
  it("includes empty squares and squares of either colour, rays stopping at the first occupied square", () => {
    expect(squaresOf(values(fen).threat)).toEqual(
      sorted(["d5", "d6", "d7", "d8", "e4", "f4", "g4", "h4", "d3", "d2", "c4", "b4", "g8", "g7", "h7"]),
    );
  });
  it("is relative to the side to move", () => {
    // Black to move: O = White. Ke1: d1 d2 e2 f2 f1 (d2 is White's own pawn, still attacked); Pd2: c3 e3;
    // Nb4: a2 c2 d3 d5 c6 a6. The black rook's square d4 is not attacked.
    expect(squaresOf(values(fen.replace(" w ", " b ")).threat)).toEqual(
      sorted(["d1", "d2", "e2", "f2", "f1", "c3", "e3", "a2", "c2", "d3", "d5", "c6", "a6"]),
    );
  });
  it("sees rank 6, rank 7 and b8–g8 in the initial position (a8, h8 are not attacked)", () => {
    expect(squaresOf(values(START).threat)).toEqual([
      ..."abcdefgh".split("").map((f) => `${f}6`),
      ..."abcdefgh".split("").map((f) => `${f}7`),
      "b8", "c8", "d8", "e8", "f8", "g8",
    ]);
  });
});

describe("legal_moves (destinations of S's legal moves)", () => {
  it("marks the en-passant target square, not the captured pawn's square", () => {
    // Ke1: d1 d2 e2 f2 f1; e5–e6; exd6 e.p. lands on the empty d6.
    const map = values("4k3/8/8/3pP3/8/8/8/4K3 w - d6 0 1").legal_moves;
    expect(squaresOf(map)).toEqual(sorted(["d1", "d2", "e2", "f2", "f1", "e6", "d6"]));
  });
  it("marks the promotion square once for the four promotion choices", () => {
    expect(squaresOf(values("7k/1P6/8/8/8/8/8/4K3 w - - 0 1").legal_moves)).toEqual(sorted(["d1", "d2", "e2", "f2", "f1", "b8"]));
  });
  it("moves castling kings to g1 / c1 (king's destination)", () => {
    // Rooks reach g1 and c1 too, so check the king moves themselves.
    const moves = new LegalMoveList();
    generateLegalMoves(positionFromFen("4k3/8/8/8/8/8/8/R3K2R w KQ - 0 1"), moves);
    const kingMoves = Array.from({ length: moves.count }, (_, i) => i).filter((i) => moves.piece[i] === KING).map((i) => moves.to[i]);
    expect(kingMoves).toContain(parseChessSquare("g1"));
    expect(kingMoves).toContain(parseChessSquare("c1"));
    expect(values("4k3/8/8/8/8/8/8/R3K2R w KQ - 0 1").legal_moves[parseChessSquare("g1")]).toBe(1);
    // Black to move: the black king castles to g8 / c8.
    expect(values("r3k2r/8/8/8/8/8/8/4K3 b kq - 0 1").legal_moves[parseChessSquare("c8")]).toBe(1);
  });
  it("excludes an en-passant capture that exposes the king along the rank", () => {
    // After ...e7–e5, d5xe6 would clear d5 and e5 and let Rh5 hit Ka5; only d6 and king moves remain.
    const map = values("4k3/8/8/K2Pp2r/8/8/8/8 w - e6 0 1").legal_moves;
    expect(squaresOf(map)).toEqual(sorted(["a4", "b4", "b5", "a6", "b6", "d6"]));
  });
});

describe("check", () => {
  it("is 1 when S's king is attacked", () => {
    expect(scalar("4k3/8/8/8/8/8/8/r3K3 w - - 0 1", "check")).toBe(1); // Ra1 along the first rank
    expect(scalar("4k3/8/8/8/8/8/8/4R1K1 b - - 0 1", "check")).toBe(1); // Black to move, Re1 up the e-file
  });
  it("is 0 when the checking ray is blocked", () => {
    expect(scalar("4k3/8/8/8/8/8/8/r1N1K3 w - - 0 1", "check")).toBe(0); // Nc1 blocks Ra1
    expect(scalar(START, "check")).toBe(0);
  });
});

describe("can_check_next", () => {
  it("is 1 when a legal move checks (mates included)", () => {
    expect(scalar("4k3/8/8/8/8/8/8/R3K3 w - - 0 1", "can_check_next")).toBe(1); // Ra8+
    expect(scalar("6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1", "can_check_next")).toBe(1); // Ra8#
    expect(scalar("7k/1P6/8/8/8/8/8/4K3 w - - 0 1", "can_check_next")).toBe(1); // b8=Q+ along the 8th rank
    expect(scalar("4k3/8/8/1N6/8/8/8/4K3 w - - 0 1", "can_check_next")).toBe(1); // Nc7+ or Nd6+
    // Only a discovered check: Ke4 stepping off the e-file uncovers Re1 (the rook itself cannot reach e8).
    expect(scalar("4k3/8/8/8/4K3/8/8/4R3 w - - 0 1", "can_check_next")).toBe(1);
  });
  it("is 0 when the only checking move is illegal (pinned knight)", () => {
    // Nb2–d3+ would check Ke1 but Bc3 pins the knight to Ka1; king moves never give check.
    expect(scalar("8/8/8/8/8/2b5/1N6/K3k3 w - - 0 1", "can_check_next")).toBe(0);
    expect(scalar("7k/8/8/8/8/8/8/K7 w - - 0 1", "can_check_next")).toBe(0);
    expect(scalar("4k3/8/8/8/8/8/8/4K1N1 w - - 0 1", "can_check_next")).toBe(0); // Ne2, Nf3, Nh3 miss e8
  });
});

describe("has_queen / has_bishop_pair (S's material)", () => {
  it("has_queen follows the side to move", () => {
    expect(scalar("4k3/8/8/8/8/8/8/3QK3 w - - 0 1", "has_queen")).toBe(1);
    expect(scalar("4k3/8/8/8/8/8/8/3QK3 b - - 0 1", "has_queen")).toBe(0); // only White has a queen
  });
  it("has_bishop_pair counts two bishops of S, whatever their square colours", () => {
    expect(scalar("4k3/8/8/8/8/4B3/8/2B1K3 w - - 0 1", "has_bishop_pair")).toBe(1); // c1 and e3 are both dark
    expect(scalar("4k3/8/8/8/8/4B3/8/2B1K3 b - - 0 1", "has_bishop_pair")).toBe(0); // Black has none
    expect(scalar("4k3/8/8/8/8/4B3/8/4K3 w - - 0 1", "has_bishop_pair")).toBe(0);
  });
});

describe("can_capture_queen (†: only O's queen on the highest square id)", () => {
  it("is 0 when only a lower O queen is capturable", () => {
    // Black queens on b3 (17) and b8 (57): Nc1xb3 is legal but the highest queen b8 is out of reach.
    expect(scalar("1q5k/8/8/8/8/1q6/8/2N4K w - - 0 1", "can_capture_queen")).toBe(0);
  });
  it("is 1 when the highest O queen is capturable", () => {
    expect(scalar("1q5k/8/2N5/8/8/1q6/8/7K w - - 0 1", "can_capture_queen")).toBe(1); // Nc6xb8
  });
  it("is 0 when O has no queen", () => {
    expect(scalar("7k/8/8/8/8/8/8/3QK3 w - - 0 1", "can_capture_queen")).toBe(0);
  });
});

describe("castling rights (rights, not legality)", () => {
  it("is 1 while castling is impossible right now", () => {
    // Ng1 blocks kingside; Rd8 attacks d1 so queenside is illegal; both rights are still held.
    const fen = "3rk3/8/8/8/8/8/8/R3K1NR w KQ - 0 1";
    const v = values(fen);
    expect([v.castling_rights[0], v.kingside_castling_rights[0], v.queenside_castling_rights[0]]).toEqual([1, 1, 1]);
    const moves = new LegalMoveList();
    generateLegalMoves(positionFromFen(fen), moves);
    const kingTargets = Array.from({ length: moves.count }, (_, i) => i).filter((i) => moves.piece[i] === KING).map((i) => moves.to[i]);
    expect(kingTargets).not.toContain(parseChessSquare("g1"));
    expect(kingTargets).not.toContain(parseChessSquare("c1"));
  });
  it("separates kingside and queenside", () => {
    const kingside = values("4k3/8/8/8/8/8/8/4K2R w K - 0 1");
    expect([kingside.castling_rights[0], kingside.kingside_castling_rights[0], kingside.queenside_castling_rights[0]]).toEqual([1, 1, 0]);
    const queenside = values("r3k3/8/8/8/8/8/8/4K3 b q - 0 1");
    expect([queenside.castling_rights[0], queenside.kingside_castling_rights[0], queenside.queenside_castling_rights[0]]).toEqual([1, 0, 1]);
  });
  it("is 0 when only O holds rights, or the right's rook has left its corner", () => {
    const opponentOnly = values("r3k2r/8/8/8/8/8/8/4K3 w kq - 0 1");
    expect([opponentOnly.castling_rights[0], opponentOnly.kingside_castling_rights[0], opponentOnly.queenside_castling_rights[0]]).toEqual([0, 0, 0]);
    // python-chess cleans a right whose rook is not on its corner (chess.js keeps the flag).
    expect(scalar("4k3/8/8/8/8/8/8/4K1R1 w K - 0 1", "castling_rights")).toBe(0);
  });
});

describe("any_fork (†)", () => {
  it("is 0 for a knight hitting a rook and a queen (different target types are not combined)", () => {
    expect(scalar("7k/3r1q2/8/4N3/8/8/8/K7 w - - 0 1", "any_fork")).toBe(0); // Ne5 hits Rd7 and Qf7
  });
  it("is 1 for two knights each hitting one rook (attackers of one type are pooled)", () => {
    expect(scalar("7k/3r4/8/1r2N3/8/2N5/8/K7 w - - 0 1", "any_fork")).toBe(1); // Ne5–Rd7, Nc3–Rb5
  });
  it("skips an absolutely pinned attacker", () => {
    // Same, plus Bd4 pinning Nc3 to Ka1: only Ne5–Rd7 counts.
    expect(scalar("7k/3r4/8/1r2N3/3b4/2N5/8/K7 w - - 0 1", "any_fork")).toBe(0);
  });
  it("counts one target twice when two attackers hit it (reference pooling)", () => {
    expect(scalar("7k/8/8/3r4/1N3N2/8/8/K7 w - - 0 1", "any_fork")).toBe(1); // Nb4 and Nf4 both hit Rd5
  });
  it("counts pawn forks per target type", () => {
    expect(scalar("7k/8/8/3n1n2/4P3/8/8/K7 w - - 0 1", "any_fork")).toBe(1); // e4 hits Nd5 and Nf5
    expect(scalar("7k/8/8/3n1b2/4P3/8/8/K7 w - - 0 1", "any_fork")).toBe(0); // e4 hits Nd5 and Bf5
  });
  it("never counts queens as attackers or knights as targets of knights", () => {
    expect(scalar("7k/3r1r2/8/4Q3/8/8/8/K7 w - - 0 1", "any_fork")).toBe(0); // Qe5 sees both rooks
    expect(scalar("7k/3n1n2/8/4N3/8/8/8/K7 w - - 0 1", "any_fork")).toBe(0); // N→N is not a pair
  });
});

describe("pin (either colour)", () => {
  it("finds a pinned piece of S", () => {
    expect(scalar("8/8/8/8/8/2b5/1N6/K3k3 w - - 0 1", "pin")).toBe(1); // Bc3 pins Nb2 to Ka1
  });
  it("finds a pinned piece of O", () => {
    expect(scalar("4k3/4n3/8/8/8/8/8/4RK2 w - - 0 1", "pin")).toBe(1); // Re1 pins Ne7 to Ke8, White to move
    expect(scalar("4k3/3n4/8/8/B7/8/8/5K2 w - - 0 1", "pin")).toBe(1); // Ba4 pins Nd7 on the diagonal
  });
  it("is 0 with two pieces in between, or a slider on the wrong kind of line", () => {
    expect(scalar("4k3/4n3/4p3/8/8/8/8/4RK2 w - - 0 1", "pin")).toBe(0); // e6 and e7 both in between
    expect(scalar("4k3/3n4/8/8/R7/8/8/5K2 w - - 0 1", "pin")).toBe(0); // a rook on the a4–e8 diagonal
    expect(scalar(START, "pin")).toBe(0);
  });
});

describe("legal_en_passant", () => {
  it("is 1 when S can capture en passant", () => {
    expect(scalar("4k3/8/8/3pP3/8/8/8/4K3 w - d6 0 1", "legal_en_passant")).toBe(1);
    expect(scalar("4k3/8/8/8/3pP3/8/8/4K3 b - e3 0 1", "legal_en_passant")).toBe(1); // d4xe3, Black to move
  });
  it("is 0 without an en-passant square or when the capture is illegal", () => {
    expect(scalar("4k3/8/8/3pP3/8/8/8/4K3 w - - 0 1", "legal_en_passant")).toBe(0);
    expect(scalar("4k3/8/8/K2Pp2r/8/8/8/8 w - e6 0 1", "legal_en_passant")).toBe(0); // exposes Ka5 to Rh5
  });
});

describe("ambiguous_moves", () => {
  it("is 1 for exd5 / cxd5", () => {
    expect(scalar("4k3/8/8/3p4/2P1P3/8/8/4K3 w - - 0 1", "ambiguous_moves")).toBe(1);
  });
  it("is 1 for two knights reaching one square", () => {
    expect(scalar("4k3/8/8/8/8/8/8/1N2KN2 w - - 0 1", "ambiguous_moves")).toBe(1); // Nb1 and Nf1 both reach d2
  });
  it("is 0 for the four promotions of one pawn", () => {
    expect(scalar("7k/1P6/8/8/8/8/8/4K3 w - - 0 1", "ambiguous_moves")).toBe(0);
  });
  it("is 0 when different piece types share a destination", () => {
    expect(scalar("4k3/8/8/8/8/8/8/1NB1K3 w - - 0 1", "ambiguous_moves")).toBe(0); // N, B and K reach d2; N and B reach a3
    expect(scalar(START, "ambiguous_moves")).toBe(0);
  });
});

// A slow reference built only from chess.js queries (attackers, isAttacked, moves, remove/put), sharing no code with
// the mailbox implementation, compared on sampled positions of seeded random games.
function chessJsReference(game: Chess): Record<StrategyId, number[]> {
  const us = game.turn();
  const them: Color = us === "w" ? "b" : "w";
  const squares = Array.from({ length: 64 }, (_, id) => ("abcdefgh"[id & 7] + String((id >> 3) + 1)) as Square);
  const pieceAt = squares.map((sq) => game.get(sq) ?? null);
  const moves = game.moves({ verbose: true });
  const attackedBy = squares.map((sq) => game.attackers(sq)); // attackers of the side to move
  const theirAttacks = squares.map((sq) => game.isAttacked(sq, them));
  // Pinned: removing the piece adds a new attacker of its own king.
  const pinned = new Set<string>();
  const probe = new Chess(game.fen());
  for (const color of ["w", "b"] as const) {
    const enemy: Color = color === "w" ? "b" : "w";
    const kingSquare = squares[pieceAt.findIndex((p) => p?.type === "k" && p.color === color)];
    const before = probe.attackers(kingSquare, enemy).length;
    const k = squares.indexOf(kingSquare);
    squares.forEach((sq, id) => {
      const piece = pieceAt[id];
      if (!piece || piece.color !== color || piece.type === "k") return;
      const [dr, df] = [(id >> 3) - (k >> 3), (id & 7) - (k & 7)];
      if (dr !== 0 && df !== 0 && Math.abs(dr) !== Math.abs(df)) return; // off the king's lines: removal reveals nothing
      probe.remove(sq);
      if (probe.attackers(kingSquare, enemy).length > before) pinned.add(sq);
      probe.put(piece, sq);
    });
  }
  const counts = new Map<string, number>();
  // any_fork pools attacker–victim pairs: each (unpinned attacker of S, attacked O piece) counts once.
  pieceAt.forEach((victim, id) => {
    if (!victim || victim.color !== them) return;
    for (const from of attackedBy[id]) {
      if (pinned.has(from)) continue;
      const key = game.get(from)!.type + victim.type;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  });
  const forkPairs = ["pn", "pb", "pr", "pq", "pk", "nr", "nq", "nk", "br", "bq", "bk", "rq", "rk"];
  const theirQueens = squares.filter((_, id) => pieceAt[id]?.type === "q" && pieceAt[id]?.color === them);
  const highestQueen = theirQueens.at(-1);
  const origins = new Map<string, Set<string>>();
  for (const move of moves) {
    const key = move.piece + move.to;
    origins.set(key, (origins.get(key) ?? new Set()).add(move.from));
  }
  const rights = game.getCastlingRights(us);
  const count = (type: string) => pieceAt.filter((p) => p?.type === type && p.color === us).length;
  const bit = (b: boolean) => (b ? 1 : 0);
  return {
    threat: theirAttacks.map(bit),
    legal_moves: squares.map((sq) => bit(moves.some((m) => m.to === sq))),
    check: [bit(game.inCheck())],
    can_check_next: [bit(moves.some((m) => /[+#]$/.test(m.san)))],
    has_queen: [bit(count("q") >= 1)],
    can_capture_queen: [bit(highestQueen !== undefined && moves.some((m) => m.to === highestQueen))],
    has_bishop_pair: [bit(count("b") >= 2)],
    castling_rights: [bit(rights.k || rights.q)],
    kingside_castling_rights: [bit(rights.k)],
    queenside_castling_rights: [bit(rights.q)],
    any_fork: [bit(forkPairs.some((pair) => (counts.get(pair) ?? 0) >= 2))],
    pin: [bit(pinned.size > 0)],
    legal_en_passant: [bit(moves.some((m) => m.isEnPassant()))],
    ambiguous_moves: [bit([...origins.values()].some((set) => set.size >= 2))],
  };
}

/**
 * Play a uniformly random legal move, drawn from the mailbox generator (chess.js move lists cost milliseconds) and
 * played through chess.js, which validates it. Returns false at mate or stalemate.
 */
function playRandomMove(game: Chess, random: RandomStream): boolean {
  const moves = new LegalMoveList();
  generateLegalMoves(positionFromFen(game.fen({ forceEnpassantSquare: true })), moves);
  if (moves.count === 0) return false;
  const i = randomBelow(random, moves.count);
  const promotion = moves.promotion[i] ? "pnbrqk"[moves.promotion[i] - 1] : undefined;
  game.move({ from: chessSquareName(moves.from[i]), to: chessSquareName(moves.to[i]), promotion });
  return true;
}

describe("agreement with a chess.js reference on random games", () => {
  it("matches on every 3rd position of 12 seeded random games", () => {
    const random = xoshiro128(0, 20240817);
    const seen = Object.fromEntries(STRATEGY_IDS.map((id) => [id, 0])) as Record<StrategyId, number>;
    let positions = 0;
    for (let g = 0; g < 12; g++) {
      const game = new Chess();
      for (let ply = 0; ply < 180; ply++) {
        // The reference costs milliseconds per position (chess.js SAN + mate test per move): sample plies 0, 3, 6, …
        if (ply % 3 !== 0) {
          if (!playRandomMove(game, random)) break;
          continue;
        }
        const expected = chessJsReference(game);
        const actual = strategyValues(game);
        for (const id of STRATEGY_IDS) {
          // Compare as strings first: one expect per entry would dominate the run time.
          if (actual[id].join("") !== expected[id].join("")) expect(Array.from(actual[id]), `${id} at ${game.fen()}`).toEqual(expected[id]);
          if (expected[id].some((v) => v === 1)) seen[id]++;
        }
        positions++;
        if (!playRandomMove(game, random)) break;
      }
    }
    expect(positions).toBeGreaterThan(500);
    // The sample exercises every scalar function's positive class except the rare ones the FEN tests cover.
    for (const id of ["check", "can_check_next", "has_queen", "can_capture_queen", "has_bishop_pair", "any_fork", "pin", "ambiguous_moves"] as const) {
      expect(seen[id], id).toBeGreaterThan(0);
    }
  });
});
