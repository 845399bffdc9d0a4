// Builds the native compute provider (saec_native.node) at npm install when OpenBLAS is present. It never fails
// the install: without OpenBLAS, or when the build or a trial load fails, it prints one line saying why, removes
// any partial build, and exits 0 (compute/select.ts then falls back to the next provider).
// SAEC_SKIP_NATIVE=1 skips it; SAEC_OPENBLAS_INCLUDE / SAEC_OPENBLAS_LIB point at a non-standard OpenBLAS.

import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const nativeDir = path.dirname(fileURLToPath(import.meta.url));
const buildDir = path.join(nativeDir, "build");
const addonFile = path.join(buildDir, "Release", "saec_native.node");
const nodePrefix = path.dirname(path.dirname(process.execPath));

function skip(reason) {
  rmSync(buildDir, { recursive: true, force: true });
  console.log(`saec: native provider skipped (${reason})`);
  process.exit(0);
}

/** Multiarch folders such as /usr/include/x86_64-linux-gnu under root, plus root itself. */
function withMultiarch(root) {
  if (!existsSync(root)) return [];
  const triplets = readdirSync(root).filter((name) => /-linux-gnu/.test(name));
  return [root, ...triplets.map((name) => path.join(root, name))];
}

function includeCandidates() {
  const home = process.env.OPENBLAS_HOME && path.join(process.env.OPENBLAS_HOME, "include");
  const system = ["/usr/include", "/usr/local/include"].flatMap(withMultiarch);
  const subfolders = ["", "openblas", "openblas-pthread", "openblas-openmp"];
  const nested = system.flatMap((dir) => subfolders.map((sub) => path.join(dir, sub)));
  const brew = ["/opt/homebrew/opt/openblas/include", "/usr/local/opt/openblas/include"];
  return [process.env.SAEC_OPENBLAS_INCLUDE, home, ...nested, ...brew].filter(Boolean);
}

function libraryCandidates() {
  const home = process.env.OPENBLAS_HOME && path.join(process.env.OPENBLAS_HOME, "lib");
  const system = ["/usr/lib", "/usr/lib64", "/usr/local/lib", "/lib"].flatMap(withMultiarch);
  const brew = ["/opt/homebrew/opt/openblas/lib", "/usr/local/opt/openblas/lib"];
  return [process.env.SAEC_OPENBLAS_LIB, home, ...system, ...brew].filter(Boolean);
}

/** The folder of an OpenBLAS cblas.h (one declaring openblas_set_num_threads, not the reference CBLAS header). */
function findOpenblasInclude() {
  return includeCandidates().find((dir) => {
    const header = path.join(dir, "cblas.h");
    return existsSync(header) && readFileSync(header, "utf8").includes("openblas_set_num_threads");
  });
}

function findOpenblasLibrary() {
  const names = ["libopenblas.so", "libopenblas.dylib"];
  return libraryCandidates().find((dir) => names.some((name) => existsSync(path.join(dir, name))));
}

/** node-gyp's CLI: npm hands its bundled copy to install scripts; otherwise look beside npm or in node_modules. */
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    process.env.npm_execpath &&
      path.join(path.dirname(process.env.npm_execpath), "..", "node_modules", "node-gyp", "bin", "node-gyp.js"),
    path.join(nodePrefix, "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ];
  const found = candidates.find((file) => file && existsSync(file));
  if (found) return found;
  try {
    return createRequire(import.meta.url).resolve("node-gyp/bin/node-gyp.js");
  } catch {
    return undefined;
  }
}

/** The first line of build output that looks like the cause (else the last line), for the one-line report. */
function failureLine(output) {
  const lines = output.split("\n").map((line) => line.trim()).filter(Boolean);
  const boilerplate = /^gyp ERR! (cwd|node -v|node-gyp -v|not ok|System|command)/;
  const causes = lines.filter((line) => /error|not found|cannot|undefined reference/i.test(line) && !boilerplate.test(line));
  return (causes[0] ?? lines.at(-1) ?? "no output").slice(0, 200);
}

function main() {
  if (process.env.SAEC_SKIP_NATIVE === "1") skip("SAEC_SKIP_NATIVE=1");
  const include = findOpenblasInclude();
  if (!include) skip("no OpenBLAS cblas.h found; install libopenblas-dev or set SAEC_OPENBLAS_INCLUDE");
  const library = findOpenblasLibrary();
  if (!library) skip("no libopenblas found; install libopenblas-dev or set SAEC_OPENBLAS_LIB");
  const nodeGyp = findNodeGyp();
  if (!nodeGyp) skip("node-gyp not found (it ships with npm)");

  const args = [nodeGyp, "rebuild"];
  // Local headers avoid node-gyp downloading them (installs may have no network).
  if (!process.env.npm_config_nodedir && existsSync(path.join(nodePrefix, "include", "node", "node_api.h"))) {
    args.push(`--nodedir=${nodePrefix}`);
  }
  const build = spawnSync(process.execPath, args, {
    cwd: nativeDir,
    env: { ...process.env, SAEC_OPENBLAS_INCLUDE: include, SAEC_OPENBLAS_LIB: library },
    encoding: "utf8",
    timeout: 300_000,
  });
  if (build.error) skip(`node-gyp did not run: ${build.error.message}`);
  if (build.status !== 0) skip(`build failed: ${failureLine(`${build.stdout}\n${build.stderr}`)}`);
  if (!existsSync(addonFile)) skip(`build produced no ${path.relative(nativeDir, addonFile)}`);

  // Load it in a child process, so a broken binary (missing symbol, wrong CPU) cannot take the install down.
  const probe = `console.log(require(${JSON.stringify(addonFile)}).blasInfo().config)`;
  const trial = spawnSync(process.execPath, ["-e", probe], { encoding: "utf8", timeout: 60_000 });
  if (trial.status !== 0) skip(`built addon does not load: ${failureLine(`${trial.stdout}\n${trial.stderr}`)}`);
  console.log(`saec: native provider built (${trial.stdout.trim()})`);
}

try {
  main();
} catch (error) {
  skip(`unexpected error: ${error instanceof Error ? error.message : String(error)}`);
}
