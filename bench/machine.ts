// What a benchmark ran on, recorded with its results and printed above its table.

import os from "node:os";

export interface BenchMachine {
  cpu: string;
  cores: number;
  node: string;
  platform: string;
  /** os.loadavg() before the run: other work on the machine slows every rate. */
  loadAverage: number[];
}

/** This machine, with the load average taken before the run began. */
export function benchMachine(loadAverage: number[]): BenchMachine {
  return {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.availableParallelism(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAverage,
  };
}

/** "Machine: …" line of a benchmark's Markdown; `date` is the results' ISO timestamp. */
export function machineLine(machine: BenchMachine, date: string): string {
  const load = machine.loadAverage.map((value) => value.toFixed(2)).join(", ");
  return `Machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node} (${date.slice(0, 10)}; load average before the run ${load}).`;
}
