// The onnx (onnxruntime-node CPU) provider against the reference kernels. Skipped with the reason when
// onnxruntime-node or the wasm build it delegates to cannot load, unless SAEC_EXPECT_PROVIDERS names "onnx".

import { describe, expect, it } from "vitest";
import type { Kernels } from "../../compute/kernels.js";
import { encodeModel } from "../../compute/onnx/model-proto.js";
import { ProtoWriter } from "../../compute/onnx/protobuf-writer.js";
import { loadOnnxKernels, ONNX_MIN_SGEMM_VOLUME } from "../../compute/providers/onnx.js";
import { describeKernelConformance, expectSgemmMatches, loadProviderForTest } from "./kernel-conformance.js";

const { kernels: onnx, unavailable } = await loadProviderForTest("onnx", () => loadOnnxKernels({ threads: 2 }));

describe("ONNX model encoding", () => {
  it("writes protobuf varints, negative int64s, floats and nested messages", () => {
    const inner = new ProtoWriter().varint(1, 300);
    const bytes = new ProtoWriter().varint(1, 1).varint(2, -1).float(3, 1.5).string(4, "ab").message(5, inner).finish();
    expect(Array.from(bytes)).toEqual([
      0x08, 0x01, // field 1 varint 1
      0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, // field 2 varint -1 (ten bytes)
      0x1d, 0x00, 0x00, 0xc0, 0x3f, // field 3 fixed32 1.5
      0x22, 0x02, 0x61, 0x62, // field 4 "ab"
      0x2a, 0x03, 0x08, 0xac, 0x02, // field 5 { field 1 varint 300 }
    ]);
  });

  it("starts a model with IR version 8 and ends it with opset 17 of the default domain", () => {
    const bytes = encodeModel({ name: "g", inputs: [], outputs: [], nodes: [] });
    expect(Array.from(bytes.subarray(0, 2))).toEqual([0x08, 8]);
    expect(Array.from(bytes.subarray(-6))).toEqual([0x42, 0x04, 0x0a, 0x00, 0x10, 17]);
  });
});

describe.skipIf(!onnx)(`onnx provider${onnx ? "" : ` (skipped: ${unavailable})`}`, () => {
  const kernels = onnx as Kernels;

  it("is named onnx and reports the threads it was given", async () => {
    expect(kernels.name).toBe("onnx");
    expect(kernels.threads).toBe(2);
    expect((await loadOnnxKernels({ threads: 1 })).threads).toBe(1);
  });

  describeKernelConformance(kernels);

  // The conformance suite's small shapes run on wasm; these are big enough for ORT's Gemm.
  const ortShapes: [m: number, n: number, k: number][] = [
    [300, 1001, 1],
    [67, 73, 61],
    [513, 9, 77],
  ];
  for (const [m, n, k] of ortShapes) {
    it(`sgemm through ORT, all transposes, [${m}x${k}]x[${k}x${n}]`, () => {
      expect(m * n * k).toBeGreaterThanOrEqual(ONNX_MIN_SGEMM_VOLUME);
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          for (const [alpha, beta] of [[1, 0], [-0.7, 0.5], [2, 1]] as const) {
            expectSgemmMatches(kernels, transA, transB, [m, n, k], alpha, beta, m + n + k);
          }
        }
      }
    });
  }

  it("sgemm stays correct while its per-(alpha, beta) sessions are evicted and rebuilt", () => {
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 20; i++) expectSgemmMatches(kernels, i % 2 === 0, i % 3 === 0, [67, 65, 63], 0.1 * (i + 1), i % 4 === 0 ? 0 : 0.5, i);
    }
  });

  it("sgemm on a shape large enough to split across threads", () => {
    expectSgemmMatches(kernels, false, true, [300, 257, 513], 1, 0.25, 3);
  });
});
