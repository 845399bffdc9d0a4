// Compiles compute/wasm/assembly/ (AssemblyScript) into compute/wasm/build/kernels.wasm with SIMD at -O3.
// Run as `npm run build:wasm`; compute/providers/wasm.ts loads the result.

import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";

const here = dirname(fileURLToPath(import.meta.url));
const entry = join(here, "assembly", "index.ts");
const outFile = join(here, "build", "kernels.wasm");

await mkdir(dirname(outFile), { recursive: true });
const { error, stderr } = await asc.main([
  entry,
  "--outFile", outFile,
  "-O3",
  "--noAssert",
  "--enable", "simd",
  "--runtime", "stub", // no garbage collector: the kernels never allocate
  "--initialMemory", "1",
]);
if (error) {
  console.error(stderr.toString());
  console.error(`build:wasm: compiling ${entry} failed: ${error.message}`);
  process.exit(1);
}
console.log(`build:wasm: wrote ${outFile}`);
