// The run's event log: one JSON object per line in runs/<run>/events.jsonl, appended as things happen.

import { appendFileSync, mkdirSync } from "node:fs";
import path from "node:path";

export type RunEvent =
  | { type: "run-start"; run: string; stages: string[] }
  | { type: "stage-start"; stage: string; key: string; resumed: boolean }
  | { type: "stage-skip"; stage: string; key: string }
  | { type: "stage-end"; stage: string; key: string; seconds: number; metrics: Record<string, number> }
  | { type: "stage-error"; stage: string; key: string; message: string }
  | { type: "progress"; stage: string; done: number; total: number; unit: string }
  | { type: "metric"; stage: string; name: string; value: number; step?: number }
  | { type: "log"; stage: string; message: string }
  | { type: "run-end"; run: string; ok: boolean; seconds: number };

export interface EventSink {
  emit(event: RunEvent): void;
}

/** Appends events synchronously so that nothing is lost when the process is killed right after. */
export class JsonlEventLog implements EventSink {
  constructor(readonly file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
  }

  emit(event: RunEvent): void {
    appendFileSync(this.file, JSON.stringify({ time: new Date().toISOString(), ...event }) + "\n");
  }
}

/** Sends each event to several sinks. */
export function fanOut(...sinks: EventSink[]): EventSink {
  return { emit: (event) => sinks.forEach((sink) => sink.emit(event)) };
}
