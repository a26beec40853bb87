/**
 * Hand-encoded ONNX models for importer tests (the onnx-proto package writes the
 * protobuf), and a check for the one-line EvsimError every bad model must give.
 */
import onnxProto from 'onnx-proto';
import { expect } from 'vitest';
import { EvsimError } from '../../src/errors.js';

const { onnx } = onnxProto;
export const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const INT64 = onnx.TensorProto.DataType.INT64;
export const AT = onnx.AttributeProto.AttributeType;

export type Dims = (number | string)[];
export const valueInfo = (name: string, dims: Dims): onnxProto.onnx.IValueInfoProto => ({
  name,
  type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
});
export const floats = (name: string, dims: number[], data: number[]): onnxProto.onnx.ITensorProto => ({ name, dims, dataType: FLOAT, floatData: data });
export const int64s = (name: string, data: number[]): onnxProto.onnx.ITensorProto => ({ name, dims: [data.length], dataType: INT64, int64Data: data });
export const strAttr = (name: string, s: string): onnxProto.onnx.IAttributeProto => ({ name, type: AT.STRING, s: new TextEncoder().encode(s) });
export const intAttr = (name: string, i: number): onnxProto.onnx.IAttributeProto => ({ name, type: AT.INT, i });

export interface ModelSpec {
  nodes: onnxProto.onnx.INodeProto[];
  init?: onnxProto.onnx.ITensorProto[];
  inputs?: onnxProto.onnx.IValueInfoProto[];
  outputs?: onnxProto.onnx.IValueInfoProto[];
  opset?: number;
}

/** Encodes a ModelProto: input 'x' [1, 4] and output 'y' unless overridden. */
export function encode(s: ModelSpec): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: 'evsim-test',
    opsetImport: [{ domain: '', version: s.opset ?? 13 }],
    graph: {
      name: 'g',
      node: s.nodes,
      initializer: s.init ?? [],
      input: s.inputs ?? [valueInfo('x', [1, 4])],
      output: s.outputs ?? [valueInfo('y', [1, 4])],
    },
  }).finish();
}

/** Runs `f`, requires an EvsimError with `code`, a one-line message matching every regex. */
export function expectError(f: () => unknown, code: string, ...patterns: RegExp[]): EvsimError {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a throw').toBeInstanceOf(EvsimError);
  const e = err as EvsimError;
  expect(e.code, e.message).toBe(code);
  expect(e.message).not.toMatch(/[\r\n]/);
  for (const p of patterns) expect(e.message).toMatch(p);
  return e;
}
