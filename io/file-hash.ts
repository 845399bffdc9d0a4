// SHA-256 of a file, streamed (model weights identify the model an activation cache or an SAE came from).

import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

/** Hex SHA-256 of the file's bytes. */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
