/**
 * ONNX writer for multilayer perceptrons, so models trained in TypeScript (e.g. the
 * Temporal MNIST MLP of DESIGN §9) reach evsim the same way as exported ones. Writes
 * opset 13: input [1, in] float, then per layer Gemm(x, W, b; transB = 1) with the
 * PyTorch weight layout [out][in], optionally followed by Relu or Softmax(axis = 1).
 * The bytes depend only on the arguments (no timestamps), so equal weights give equal
 * files. Returns the bytes: model/ writes no files (DESIGN §2); callers do.
 */
import onnxProto from 'onnx-proto';
import { EvsimError } from '../../errors.js';

const { onnx } = onnxProto;

/** Opset written; Softmax(axis = 1) over [1, N] means the same in every opset. */
export const EXPORT_OPSET = 13;
/** IR version 7 is the one that introduced opset 13 (ONNX 1.8). */
const IR_VERSION = 7;

export type MlpActivation = 'relu' | 'softmax' | 'none';

/** One fully connected layer: y = x·Wᵀ + b, then the activation. */
export interface MlpLayer {
  /** [outFeatures][inFeatures] row-major (torch.nn.Linear layout). */
  weight: Float32Array;
  bias: Float32Array;
  inFeatures: number;
  outFeatures: number;
  activation: MlpActivation;
}

export interface MlpSpec {
  layers: MlpLayer[];
  /** Graph name (default 'mlp'). */
  name?: string;
  inputName?: string;
  outputName?: string;
  docString?: string;
}

function floatTensor(name: string, dims: number[], data: Float32Array): onnxProto.onnx.ITensorProto {
  // raw_data is little-endian by the ONNX spec; copy through a DataView so the bytes
  // do not depend on the host byte order.
  const raw = new Uint8Array(data.length * 4);
  const dv = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) dv.setFloat32(i * 4, data[i]!, true);
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw };
}

function valueInfo(name: string, dims: number[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  };
}

function intAttr(name: string, i: number): onnxProto.onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i };
}

/**
 * Encodes an MLP as ONNX model bytes.
 * @throws EvsimError BAD_USAGE if the layer sizes do not chain or arrays have the wrong length.
 */
export function mlpToOnnx(spec: MlpSpec): Uint8Array {
  const { layers } = spec;
  if (layers.length === 0) throw new EvsimError('BAD_USAGE', 'mlpToOnnx: the MLP has no layers');
  const inputName = spec.inputName ?? 'input';
  const outputName = spec.outputName ?? 'output';
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const inits: onnxProto.onnx.ITensorProto[] = [];
  let x = inputName;
  layers.forEach((l, i) => {
    const where = `mlpToOnnx: layer ${i}`;
    if (!(Number.isInteger(l.inFeatures) && l.inFeatures > 0 && Number.isInteger(l.outFeatures) && l.outFeatures > 0)) {
      throw new EvsimError('BAD_USAGE', `${where}: inFeatures and outFeatures must be positive integers`);
    }
    if (i > 0 && l.inFeatures !== layers[i - 1]!.outFeatures) {
      throw new EvsimError('BAD_USAGE', `${where}: inFeatures ${l.inFeatures} does not match the previous layer's outFeatures ${layers[i - 1]!.outFeatures}`);
    }
    if (l.weight.length !== l.inFeatures * l.outFeatures) {
      throw new EvsimError('BAD_USAGE', `${where}: weight has ${l.weight.length} values, [${l.outFeatures}, ${l.inFeatures}] needs ${l.inFeatures * l.outFeatures}`);
    }
    if (l.bias.length !== l.outFeatures) throw new EvsimError('BAD_USAGE', `${where}: bias has ${l.bias.length} values, needs ${l.outFeatures}`);
    const last = i === layers.length - 1;
    const w = `fc${i}.weight`;
    const b = `fc${i}.bias`;
    inits.push(floatTensor(w, [l.outFeatures, l.inFeatures], l.weight), floatTensor(b, [l.outFeatures], l.bias));
    const gemmOut = last && l.activation === 'none' ? outputName : `fc${i}`;
    nodes.push({ name: `fc${i}`, opType: 'Gemm', input: [x, w, b], output: [gemmOut], attribute: [intAttr('transB', 1)] });
    x = gemmOut;
    if (l.activation !== 'none') {
      const actOut = last ? outputName : `${l.activation}${i}`;
      const attribute = l.activation === 'softmax' ? [intAttr('axis', 1)] : [];
      const opType = l.activation === 'relu' ? 'Relu' : 'Softmax';
      nodes.push({ name: `${l.activation}${i}`, opType, input: [x], output: [actOut], attribute });
      x = actOut;
    }
  });
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'evsim',
    opsetImport: [{ domain: '', version: EXPORT_OPSET }],
    docString: spec.docString ?? '',
    graph: {
      name: spec.name ?? 'mlp',
      node: nodes,
      initializer: inits,
      input: [valueInfo(inputName, [1, layers[0]!.inFeatures])],
      output: [valueInfo(outputName, [1, layers[layers.length - 1]!.outFeatures])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
