// Builds ONNX ModelProto bytes in memory (field numbers from onnx/onnx.proto): float tensors, symbolic or
// fixed dims, nodes with float/int attributes. Just enough to express the kernels the onnx provider runs.

import { ProtoWriter } from "./protobuf-writer.js";

export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 17;
const TENSOR_FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTRIBUTE_FLOAT = 1; // AttributeProto.AttributeType.FLOAT
const ATTRIBUTE_INT = 2; // AttributeProto.AttributeType.INT

/** A float32 graph input or output; a string dim is symbolic (dim_param), a number fixed (dim_value). */
export interface TensorSpec {
  name: string;
  dims: ReadonlyArray<string | number>;
}

/** An attribute value: numbers tagged float or int, since ONNX tells them apart. */
export type AttributeValue = { float: number } | { int: number };

export interface NodeSpec {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: Readonly<Record<string, AttributeValue>>;
}

export interface GraphSpec {
  name: string;
  inputs: readonly TensorSpec[];
  outputs: readonly TensorSpec[];
  nodes: readonly NodeSpec[];
}

function valueInfo(spec: TensorSpec): ProtoWriter {
  const shape = new ProtoWriter();
  for (const dim of spec.dims) {
    const dimension = new ProtoWriter();
    if (typeof dim === "string") dimension.string(2, dim);
    else dimension.varint(1, dim);
    shape.message(1, dimension);
  }
  const tensorType = new ProtoWriter().varint(1, TENSOR_FLOAT).message(2, shape);
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, spec.name).message(2, type);
}

function attribute(name: string, value: AttributeValue): ProtoWriter {
  const writer = new ProtoWriter().string(1, name);
  if ("float" in value) return writer.float(2, value.float).varint(20, ATTRIBUTE_FLOAT);
  return writer.varint(3, value.int).varint(20, ATTRIBUTE_INT);
}

function node(spec: NodeSpec, index: number): ProtoWriter {
  const writer = new ProtoWriter();
  for (const input of spec.inputs) writer.string(1, input);
  for (const output of spec.outputs) writer.string(2, output);
  writer.string(3, `${spec.op}_${index}`).string(4, spec.op);
  for (const [name, value] of Object.entries(spec.attributes ?? {})) writer.message(5, attribute(name, value));
  return writer;
}

/** The serialized ModelProto (IR version 8, default-domain opset 17) of one graph. */
export function encodeModel(graph: GraphSpec): Uint8Array {
  const graphProto = new ProtoWriter();
  graph.nodes.forEach((spec, index) => graphProto.message(1, node(spec, index)));
  graphProto.string(2, graph.name);
  for (const input of graph.inputs) graphProto.message(11, valueInfo(input));
  for (const output of graph.outputs) graphProto.message(12, valueInfo(output));
  const opset = new ProtoWriter().string(1, "").varint(2, ONNX_OPSET);
  return new ProtoWriter()
    .varint(1, ONNX_IR_VERSION)
    .string(2, "sae-circuits")
    .message(7, graphProto)
    .message(8, opset)
    .finish();
}
