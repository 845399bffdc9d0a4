import { describe, expect, it } from "vitest";
import { describeProgress, LineReporter } from "../../pipeline/progress.js";

describe("progress display", () => {
  it("describes progress with percentage, rate and ETA", () => {
    const started = 1_000_000;
    expect(describeProgress("games", { started, done: 250, total: 1000, unit: "games" }, started + 5_000)).toBe(
      "games: 250/1000 games (25%) 50.0 games/s, ETA 15s",
    );
    expect(describeProgress("sae", { started, done: 10, total: 100_000, unit: "steps" }, started + 10_000)).toBe(
      "sae: 10/100000 steps (0%) 1.0 steps/s, ETA 27h46m",
    );
    expect(describeProgress("x", { started, done: 0, total: 10, unit: "items" }, started)).toBe("x: 0/10 items (0%) 0.0 items/s, ETA ?");
  });

  it("prints plain lines for stage events and throttles progress lines", () => {
    const lines: string[] = [];
    const reporter = new LineReporter((line) => lines.push(line), 60_000);
    reporter.emit({ type: "stage-skip", stage: "games", key: "k1" });
    reporter.emit({ type: "stage-start", stage: "sae", key: "k2", resumed: true });
    reporter.emit({ type: "progress", stage: "sae", done: 1, total: 10, unit: "steps" });
    reporter.emit({ type: "progress", stage: "sae", done: 2, total: 10, unit: "steps" });
    reporter.emit({ type: "stage-error", stage: "sae", key: "k2", message: "out of memory" });
    expect(lines[0]).toBe("games: done already (k1), skipped");
    expect(lines[1]).toBe("sae: resuming (k2)");
    expect(lines[2]).toMatch(/^sae: 1\/10 steps \(10%\)/);
    expect(lines[3]).toBe("sae: FAILED: out of memory");
    expect(lines).toHaveLength(4);
  });
});
