// Progress display: an ora spinner line with rate and ETA on a TTY, plain lines otherwise.

import ora, { type Ora } from "ora";
import type { EventSink, RunEvent } from "./events.js";

interface StageProgress {
  started: number;
  done: number;
  total: number;
  unit: string;
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${seconds.toFixed(0)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, "0")}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, "0")}m`;
}

export function describeProgress(stage: string, progress: StageProgress, now: number): string {
  const elapsed = (now - progress.started) / 1000;
  const rate = elapsed > 0 ? progress.done / elapsed : 0;
  const eta = rate > 0 ? (progress.total - progress.done) / rate : Infinity;
  const percent = progress.total > 0 ? ((100 * progress.done) / progress.total).toFixed(0) : "?";
  return `${stage}: ${progress.done}/${progress.total} ${progress.unit} (${percent}%) ${rate.toFixed(1)} ${progress.unit}/s, ETA ${formatSeconds(eta)}`;
}

/** Plain lines: one per stage start/end/skip, and progress at most every `intervalMs`. */
export class LineReporter implements EventSink {
  private readonly stages = new Map<string, StageProgress>();
  private lastLine = 0;

  constructor(
    private readonly write: (line: string) => void = (line) => process.stderr.write(line + "\n"),
    private readonly intervalMs = 10_000,
  ) {}

  emit(event: RunEvent): void {
    const now = Date.now();
    switch (event.type) {
      case "stage-start":
        this.stages.set(event.stage, { started: now, done: 0, total: 0, unit: "items" });
        this.write(`${event.stage}: ${event.resumed ? "resuming" : "starting"} (${event.key})`);
        break;
      case "stage-skip":
        this.write(`${event.stage}: done already (${event.key}), skipped`);
        break;
      case "progress": {
        const progress = this.stages.get(event.stage);
        if (!progress) break;
        Object.assign(progress, { done: event.done, total: event.total, unit: event.unit });
        if (now - this.lastLine >= this.intervalMs) {
          this.lastLine = now;
          this.write(describeProgress(event.stage, progress, now));
        }
        break;
      }
      case "stage-end":
        this.write(`${event.stage}: finished in ${formatSeconds(event.seconds)}`);
        break;
      case "stage-error":
        this.write(`${event.stage}: FAILED: ${event.message}`);
        break;
      case "log":
        this.write(`${event.stage}: ${event.message}`);
        break;
      default:
        break;
    }
  }
}

/** One ora spinner for whatever stages are running; finished stages leave a persistent line. */
export class SpinnerReporter implements EventSink {
  private readonly spinner: Ora = ora({ stream: process.stderr });
  private readonly stages = new Map<string, StageProgress>();

  emit(event: RunEvent): void {
    const now = Date.now();
    switch (event.type) {
      case "stage-start":
        this.stages.set(event.stage, { started: now, done: 0, total: 0, unit: "items" });
        this.refresh(now);
        break;
      case "stage-skip":
        this.persist(() => this.spinner.info(`${event.stage}: done already (${event.key})`));
        break;
      case "progress": {
        const progress = this.stages.get(event.stage);
        if (progress) Object.assign(progress, { done: event.done, total: event.total, unit: event.unit });
        this.refresh(now);
        break;
      }
      case "stage-end":
        this.stages.delete(event.stage);
        this.persist(() => this.spinner.succeed(`${event.stage}: finished in ${formatSeconds(event.seconds)}`));
        break;
      case "stage-error":
        this.stages.delete(event.stage);
        this.persist(() => this.spinner.fail(`${event.stage}: ${event.message}`));
        break;
      case "log":
        this.persist(() => this.spinner.info(`${event.stage}: ${event.message}`));
        break;
      case "run-end":
        this.spinner.stop();
        break;
      default:
        break;
    }
  }

  private persist(print: () => void): void {
    print();
    this.refresh(Date.now());
  }

  private refresh(now: number): void {
    if (this.stages.size === 0) return;
    const text = [...this.stages]
      .map(([stage, progress]) => (progress.total > 0 ? describeProgress(stage, progress, now) : `${stage}: running`))
      .join(" | ");
    // one terminal line: a wrapped spinner line leaves copies of itself behind on every redraw
    const width = Math.max(20, (process.stderr.columns || 80) - 3);
    this.spinner.text = text.length > width ? `${text.slice(0, width - 1)}…` : text;
    if (!this.spinner.isSpinning) this.spinner.start();
  }
}

/** A spinner on a terminal that reports its width (ora redraws by counting wrapped lines); plain lines otherwise. */
export function progressReporter(): EventSink {
  return process.stderr.isTTY && process.stderr.columns > 0 ? new SpinnerReporter() : new LineReporter();
}
