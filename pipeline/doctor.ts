// `saec doctor`: what this machine will compute with, and how fast.

import os from "node:os";
import { probeSgemm, type GemmProbe } from "../compute/probe.js";
import { selectKernels, selectOptionsFromEnv, type Selection } from "../compute/select.js";
import { initTfjs } from "../compute/tfjs.js";

export interface DoctorReport {
  node: string;
  cpus: number;
  provider: string;
  threads: number;
  skipped: Selection["skipped"];
  tfjsBackend: string;
  tfjsMatMul: string;
  probe: GemmProbe;
}

export async function runDoctor(seconds: number): Promise<DoctorReport> {
  if (!(seconds > 0)) throw new Error(`doctor: --seconds must be a positive number, found ${seconds}`);
  const selection = await selectKernels(selectOptionsFromEnv());
  const tfjs = await initTfjs({ kernels: selection.kernels });
  return {
    node: process.version,
    cpus: os.availableParallelism(),
    provider: selection.kernels.name,
    threads: selection.kernels.threads,
    skipped: selection.skipped,
    tfjsBackend: tfjs.backend,
    tfjsMatMul: tfjs.matmulRouting,
    probe: probeSgemm(selection.kernels, { m: 1024, n: 1024, k: 1024 }, seconds),
  };
}

export function describeDoctor(report: DoctorReport): string {
  const lines = [
    `node            ${report.node} (${report.cpus} cores)`,
    `compute         ${report.provider}, ${report.threads} thread(s)`,
    ...report.skipped.map((skip) => `  passed over   ${skip.provider}: ${skip.reason}`),
    `tfjs backend    ${report.tfjsBackend}; ${report.tfjsMatMul}`,
    `sgemm probe     ${report.probe.gflops.toFixed(1)} GFLOP/s (1024³, ${report.probe.calls} calls in ${report.probe.seconds.toFixed(2)}s)`,
  ];
  return lines.join("\n");
}
