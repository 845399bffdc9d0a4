// Every file the pipeline writes appears whole or not at all: write a temporary sibling, then rename.

import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm, type FileHandle } from "node:fs/promises";
import path from "node:path";

function temporarySibling(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString("hex")}.tmp`);
}

/** Fills a temporary sibling of `file` through `fill`, fsyncs it, then renames it over `file`; removes it on failure. */
async function replaceAtomically(file: string, fill: (handle: FileHandle) => Promise<void>): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = temporarySibling(file);
  try {
    const handle = await open(temporary, "w");
    try {
      await fill(handle);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Writes data to file atomically (fsync, then rename over the destination). */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await replaceAtomically(file, (handle) => handle.writeFile(data));
}

/** Writes chunks to file as they come (memory holds one chunk), then renames it into place like writeFileAtomic. */
export async function writeChunksAtomic(file: string, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  await replaceAtomically(file, async (handle) => {
    for await (const chunk of chunks) await handle.write(chunk);
  });
}

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + "\n");
}
