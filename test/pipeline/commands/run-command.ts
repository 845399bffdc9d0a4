// Runs one stage's `saec <group> …` commands in this process and captures what they print.
import { Command } from "commander";
import { vi } from "vitest";

export type AddCommands = (group: Command) => void;

/** Runs `saec <group> <args>` with the group's commands added by `add`; returns stdout and stderr. */
export async function runCommand(group: string, add: AddCommands, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const printed = { stdout: "", stderr: "" };
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    printed.stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    printed.stderr += String(chunk);
    return true;
  });
  try {
    const program = new Command("saec");
    add(program.command(group));
    await program.parseAsync([group, ...args], { from: "user" });
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return printed;
}
