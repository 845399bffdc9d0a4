import { describe, expect, it } from "vitest";
import { ProviderUnavailableError, type Kernels, type ProviderName } from "../../compute/kernels.js";
import { referenceKernels } from "../../compute/reference.js";
import {
  DEFAULT_LOADERS,
  selectKernels,
  selectOptionsFromEnv,
  UnknownProviderError,
  type ProviderLoader,
} from "../../compute/select.js";

/** A loader standing for a provider that loads: the reference kernels under another name. */
function present(name: ProviderName): ProviderLoader {
  return async (options) => ({ ...referenceKernels, name, threads: options.threads ?? 1 }) as Kernels;
}

function absent(name: ProviderName, reason: string): ProviderLoader {
  return async () => {
    throw new ProviderUnavailableError(name, reason);
  };
}

describe("compute provider selection", () => {
  it("takes the first provider that loads, in detection order", async () => {
    const loaders = [
      ["native", present("native")],
      ["onnx", present("onnx")],
      ["wasm", present("wasm")],
    ] as const;
    const selection = await selectKernels({ loaders, threads: 2 });
    expect(selection.kernels.name).toBe("native");
    expect(selection.kernels.threads).toBe(2);
    expect(selection.skipped).toEqual([]);
  });

  it("falls back past absent providers and says why each was passed over", async () => {
    const loaders = [
      ["native", absent("native", "libopenblas not found")],
      ["onnx", absent("onnx", "onnxruntime-node is not installed")],
      ["wasm", present("wasm")],
      ["reference", present("reference")],
    ] as const;
    const selection = await selectKernels({ loaders });
    expect(selection.kernels.name).toBe("wasm");
    expect(selection.skipped).toEqual([
      { provider: "native", reason: "libopenblas not found" },
      { provider: "onnx", reason: "onnxruntime-node is not installed" },
    ]);
  });

  it("skips disabled providers and ends at the reference kernels", async () => {
    const selection = await selectKernels({ disabled: ["native", "onnx", "wasm"] });
    expect(selection.kernels).toBe(referenceKernels);
    expect(selection.skipped.map((skip) => skip.reason)).toEqual(["disabled", "disabled", "disabled"]);
  });

  it("a forced provider that cannot load is an error, not a fallback", async () => {
    const loaders = [["native", absent("native", "no addon built")], ["reference", present("reference")]] as const;
    await expect(selectKernels({ loaders, force: "native" })).rejects.toThrow(
      'compute provider "native" is unavailable: no addon built',
    );
  });

  it("an unexpected loader failure is not mistaken for absence", async () => {
    const loaders = [["native", async () => { throw new TypeError("bug"); }], ["reference", present("reference")]] as const;
    await expect(selectKernels({ loaders: loaders as never })).rejects.toThrow("bug");
  });

  it("reads SAEC_COMPUTE, SAEC_COMPUTE_DISABLE and SAEC_THREADS", () => {
    expect(selectOptionsFromEnv({ SAEC_COMPUTE: "wasm", SAEC_COMPUTE_DISABLE: "native, onnx", SAEC_THREADS: "1" })).toEqual({
      force: "wasm",
      disabled: ["native", "onnx"],
      threads: 1,
    });
    expect(() => selectOptionsFromEnv({ SAEC_COMPUTE: "cuda" })).toThrow(UnknownProviderError);
    expect(() => selectOptionsFromEnv({ SAEC_COMPUTE: "cuda" })).toThrow('SAEC_COMPUTE: unknown compute provider "cuda"');
    expect(() => selectOptionsFromEnv({ SAEC_THREADS: "two" })).toThrow('SAEC_THREADS: expected a positive integer, found "two"');
  });

  it("the real loaders: with the faster providers disabled each in turn, the next one is chosen", async () => {
    const order = DEFAULT_LOADERS.map(([name]) => name);
    expect(order).toEqual(["native", "onnx", "wasm", "reference"]);
    const chosen: string[] = [];
    for (let i = 0; i < order.length; i++) {
      const selection = await selectKernels({ disabled: order.slice(0, i) });
      chosen.push(selection.kernels.name);
      // whatever is chosen comes at or after the first provider not disabled
      expect(order.indexOf(selection.kernels.name)).toBeGreaterThanOrEqual(i);
    }
    expect(chosen.at(-1)).toBe("reference");
    const expected = (process.env.SAEC_EXPECT_PROVIDERS ?? "").split(",").filter(Boolean);
    if (expected.length > 0) expect(chosen.slice(0, expected.length)).toEqual(expected);
  });
});
