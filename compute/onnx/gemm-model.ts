// The ONNX graph of Kernels.sgemm: one Gemm node with symbolic dims, so one session serves every shape.

import { encodeModel } from "./model-proto.js";

/** Y = alpha·op(A)·op(B) (+ beta·C when beta ≠ 0): ONNX Gemm has the same contract as Kernels.sgemm. */
export function gemmModel(transA: boolean, transB: boolean, alpha: number, beta: number): Uint8Array {
  const withC = beta !== 0;
  return encodeModel({
    name: "sgemm",
    inputs: [
      { name: "A", dims: ["a0", "a1"] },
      { name: "B", dims: ["b0", "b1"] },
      ...(withC ? [{ name: "C", dims: ["m", "n"] }] : []),
    ],
    outputs: [{ name: "Y", dims: ["m", "n"] }],
    nodes: [
      {
        op: "Gemm",
        inputs: withC ? ["A", "B", "C"] : ["A", "B"],
        outputs: ["Y"],
        attributes: {
          transA: { int: +transA },
          transB: { int: +transB },
          alpha: { float: alpha },
          beta: { float: withC ? beta : 1 },
        },
      },
    ],
  });
}
