/**
 * ONNX → graph IR. Walks the nodes in topological order, folds every node whose
 * inputs are constants (the shape arithmetic exporters emit), resolves Shape of
 * activations from the static input shape, folds BatchNorm and constant bias Adds into
 * the Conv/Gemm before them, and converts the rest with `convertNode`.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { EvsimError, shownValue, whyUnreadable } from '../../errors.js';
import { normalizeInts, numel, type Graph, type GraphNode, type Op, type TensorInfo, type UnaryKind } from '../ir.js';
import { broadcastIndex, broadcastShapes, foldConstant, quantParams } from './const-fold.js';
import { bnScaleShift, convertNode, type Operand } from './convert-ops.js';
import { fuseGelu } from './fuse.js';
import { attributesOf, decodeModel, tensorFromProto, toNum, valueInfoShape, type ConstTensor, type OnnxNode } from './proto.js';

const MIN_OPSET = 7;
const MAX_OPSET = 21;

/** Loads an ONNX file into the graph IR. Bad files throw EvsimError('BAD_MODEL' | 'UNSUPPORTED_OP'). */
/** Reads an ONNX file; `output` names the graph output to simulate when it has several. */
export function loadOnnx(path: string, output?: string): Graph {
  // A number would be read as an open file descriptor (fs takes both).
  if (typeof path !== 'string' || path === '') throw new EvsimError('BAD_USAGE', `loadOnnx() takes the path of an .onnx file, got ${shownValue(path)}`);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new EvsimError('BAD_MODEL', `cannot read model ${path}: ${whyUnreadable(e)}; check the path`);
  }
  return importOnnx(bytes, path, output);
}

/** The nodes `name` is computed from (a model's other outputs' branches left out). */
function ancestorsOf(nodes: OnnxNode[], name: string): OnnxNode[] {
  const producer = new Map<string, OnnxNode>();
  for (const n of nodes) for (const o of n.output ?? []) producer.set(o, n);
  const need = new Set<OnnxNode>();
  const stack = [name];
  while (stack.length > 0) {
    const n = producer.get(stack.pop()!);
    if (!n || need.has(n)) continue;
    need.add(n);
    for (const i of n.input ?? []) if (i !== '') stack.push(i);
  }
  return nodes.filter((n) => need.has(n));
}

/**
 * Every tensor name is defined once: by an initializer, the input, or one node output.
 * A second definition would silently replace the first for every later reader.
 */
function checkNamesOnce(nodes: OnnxNode[], consts: ReadonlyMap<string, unknown>, input: string, file: string): void {
  const by = new Map<string, string>();
  for (const c of consts.keys()) by.set(c, 'an initializer');
  by.set(input, 'the model input');
  for (const n of nodes) {
    for (const o of n.output ?? []) {
      if (o === '') continue;
      const first = by.get(o);
      const me = `node '${n.name || n.opType}'`;
      if (first !== undefined) throw new EvsimError('BAD_MODEL', `${file}: tensor '${o}' is produced by ${me} but is already ${first.startsWith('node') ? `produced by ${first}` : first}; each tensor needs a name of its own`);
      by.set(o, me);
    }
  }
}

function topoSort(nodes: OnnxNode[], available: Set<string>, file: string): OnnxNode[] {
  const done = new Set(available);
  const out: OnnxNode[] = [];
  let pending = nodes;
  while (pending.length > 0) {
    const next: OnnxNode[] = [];
    for (const n of pending) {
      if ((n.input ?? []).every((i) => i === '' || done.has(i))) {
        out.push(n);
        for (const o of n.output ?? []) done.add(o);
      } else {
        next.push(n);
      }
    }
    if (next.length === pending.length) {
      const n = next[0]!;
      const missing = (n.input ?? []).find((i) => i !== '' && !done.has(i));
      throw new EvsimError('BAD_MODEL', `${file}: node '${n.name || n.opType}' reads '${missing}', which no node produces (or the graph has a cycle)`);
    }
    pending = next;
  }
  return out;
}

export function importOnnx(bytes: Uint8Array, file = 'model.onnx', chosenOutput?: string): Graph {
  const model = decodeModel(bytes, file);
  const graph = model.graph!;
  const opsetEntry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const opset = opsetEntry ? toNum(opsetEntry.version as number) : 0;
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new EvsimError('BAD_MODEL', `${file}: ONNX opset ${opset} is not supported; evsim reads opsets ${MIN_OPSET}–${MAX_OPSET} (tested on 11–17): re-export with opset_version=13`);
  }

  const consts = new Map<string, ConstTensor>();
  for (const init of graph.initializer ?? []) consts.set(init.name ?? '', tensorFromProto(init, `${file}: initializer '${init.name}'`));

  const tensors: TensorInfo[] = [];
  const nodes: GraphNode[] = [];
  const acts = new Map<string, number>();
  const producer = new Map<number, GraphNode>();
  const newTensor = (name: string, shape: number[]): number => {
    // Element indices are 32-bit throughout (typed arrays of int32): a larger tensor is refused here, named.
    const n = shape.reduce((a, b) => a * b, 1);
    if (!(n <= MAX_ELEMENTS)) {
      throw new EvsimError('BAD_MODEL', `${file}: tensor '${name}' of shape [${shape.join(', ')}] has ${n.toExponential(2)} elements, more than evsim handles (${MAX_ELEMENTS}); export the model at a smaller input size`);
    }
    // An empty activation (a weight with 0 output channels, a slice past the end) carries nothing to simulate.
    if (n === 0) throw new EvsimError('BAD_MODEL', `${file}: tensor '${name}' of shape [${shape.join(', ')}] has no elements; check the weights and shapes that make it`);
    const dims = shape.map((d) => d | 0);
    tensors.push({ name, shape: dims, size: numel(dims) });
    return tensors.length - 1;
  };

  const inputs = (graph.input ?? []).filter((v) => !consts.has(v.name ?? ''));
  if (inputs.length !== 1) {
    throw new EvsimError('BAD_MODEL', `${file}: the model has ${inputs.length} non-constant inputs (${inputs.map((v) => v.name).join(', ')}); evsim needs exactly one`);
  }
  const inVi = inputs[0]!;
  const inShapeRaw = valueInfoShape(inVi);
  if (!inShapeRaw || inShapeRaw.length === 0) throw new EvsimError('BAD_MODEL', `${file}: input '${inVi.name}' has no static shape`);
  const inShape = inShapeRaw.map((d, i) => (i === 0 && d === -1 ? 1 : d));
  if (inShape[0] !== 1) throw new EvsimError('BAD_MODEL', `${file}: input '${inVi.name}' has batch size ${inShape[0]}; export with batch size 1 or a dynamic batch`);
  if (inShape.some((d) => d <= 0)) {
    throw new EvsimError('BAD_MODEL', `${file}: input '${inVi.name}' has a dynamic dimension in [${inShapeRaw.map((d) => (d < 0 ? '?' : d))}]; export with a fixed input size`);
  }
  const inputId = newTensor(inVi.name ?? 'input', inShape);
  acts.set(inVi.name ?? 'input', inputId);

  // One output is simulated: the model's only one, or the one chosen by name, computed
  // from its own branch (another output's ops need not be supported).
  const allOuts = (graph.output ?? []).map((o) => o.name ?? '');
  if (chosenOutput !== undefined && !allOuts.includes(chosenOutput)) {
    throw new EvsimError('BAD_MODEL', `${file}: the model has no output '${chosenOutput}'; its outputs are ${allOuts.map((o) => `'${o}'`).join(', ')}`);
  }
  if (chosenOutput === undefined && allOuts.length !== 1) {
    throw new EvsimError('BAD_MODEL', allOuts.length === 0
      ? `${file}: the model has no outputs`
      : `${file}: the model has ${allOuts.length} outputs (${allOuts.map((o) => `'${o}'`).join(', ')}); choose the one to simulate with --model-output NAME (model_output: in a config)`);
  }
  const outNames = [chosenOutput ?? allOuts[0]!];

  checkNamesOnce(graph.node ?? [], consts, inVi.name ?? '', file);
  const sorted = topoSort(chosenOutput === undefined ? (graph.node ?? []) : ancestorsOf(graph.node ?? [], chosenOutput), new Set([...consts.keys(), inVi.name ?? '']), file);
  // How many nodes (or the graph output) read each name: folding BN or a bias Add into
  // the Conv before it is only valid when nothing else sees the unfolded tensor.

  // Tensors also reachable under another name (Identity, Dropout, an all-zero Pad): never folded into.
  const aliased = new Set<number>();
  // Names of quantized activations (QuantizeLinear outputs), which hold integers in ONNX.
  const quantized = new Set<string>();
  const readerNodes = new Map<string, OnnxNode[]>();
  for (const n of sorted) {
    for (const i of n.input ?? []) {
      const l = readerNodes.get(i);
      if (l) l.push(n);
      else readerNodes.set(i, [n]);
    }
  }
  /** Nodes reading a name, the graph output counting as one. */
  const readers = (name: string): number => (readerNodes.get(name)?.length ?? 0) + (outNames.includes(name) ? 1 : 0);
  // A quantized activation's readers: DequantizeLinear, or a Clip narrowing the integer
  // range (torch's reduced-range QAT) that only DequantizeLinear reads.
  const readsQuantized = (r: OnnxNode): boolean => r.opType === 'DequantizeLinear'
    || (r.opType === 'Clip' && !outNames.includes(r.output?.[0] ?? '') && (readerNodes.get(r.output?.[0] ?? '') ?? []).every((n) => n.opType === 'DequantizeLinear'));

  sorted.forEach((n, index) => {
    const opType = n.opType ?? '';
    const name = n.name || `${opType}_${index}`;
    const where = `node '${name}' (${opType})`;
    try {
      if (n.domain && n.domain !== 'ai.onnx') {
        throw new EvsimError('UNSUPPORTED_OP', `${where}: custom op domain '${n.domain}' is not supported; use standard ONNX ops`);
      }
      const attrs = attributesOf(n, where);
      const inNames = n.input ?? [];
      const outs = n.output ?? [];
      const operands: Operand[] = inNames.map((i) => {
        if (i === '') return { kind: 'none' };
        const c = consts.get(i);
        if (c) return { kind: 'const', t: c };
        const id = acts.get(i)!;
        return { kind: 'act', id, shape: tensors[id]!.shape };
      });
      const anyAct = operands.some((o) => o.kind === 'act');

      if (!anyAct || opType === 'Shape' || opType === 'Size') {
        // Shape/Size of an activation: the shape is static, so the result is a constant.
        const ins = operands.map((o) =>
          o.kind === 'const' ? o.t : o.kind === 'act' ? { dtype: 'float' as const, shape: o.shape, data: new Float64Array(0) } : null,
        );
        const folded = foldConstant(opType, ins, attrs, opset, where);
        if (!folded) {
          throw new EvsimError('UNSUPPORTED_OP', `${where}: op '${opType}' on constant inputs cannot be folded; it is not supported`);
        }
        consts.set(outs[0]!, folded);
        return;
      }
      if (opType !== 'Split' && outs.length > 1 && outs.slice(1).some((o) => o !== '' && readers(o) > 0)) {
        throw new EvsimError('UNSUPPORTED_OP', `${where}: only the first output of ${opType} may be used`);
      }
      // Pass-throughs: Identity, Dropout, and the all-zero Pads exporters emit (AvgPool2d, F.pad(x, 0)).
      if (opType === 'Identity' || opType === 'Dropout' || (opType === 'Pad' && operands[1]?.kind === 'const' && operands[1].t.data.every((p) => p === 0))) {
        const id = (operands[0] as { id: number }).id;
        acts.set(outs[0]!, id);
        aliased.add(id);
        return;
      }
      const x0 = operands[0]?.kind === 'act' ? operands[0].id : -1;
      const prev = x0 >= 0 ? producer.get(x0) : undefined;
      if (opType === 'QuantizeLinear') {
        if (outNames.includes(outs[0]!) || !(readerNodes.get(outs[0]!) ?? []).every(readsQuantized)) {
          // Its integers are kept as the values they stand for, which only a DequantizeLinear may read.
          throw new EvsimError('UNSUPPORTED_OP', `${where}: a quantized activation must be read by DequantizeLinear only (QDQ fake quantization, a Clip of the integers between them allowed); integer ops on it are not supported`);
        }
        quantized.add(outs[0]!);
      }
      if (opType === 'Clip' && quantized.has(inNames[0]!) && prev?.op.kind === 'unary' && prev.op.fn === 'fakequant') {
        // Clipping the integers between QuantizeLinear and DequantizeLinear narrows the range
        // the pair saturates to (when the clip is the integers' only reader).
        const bounds = opset < 11 ? [attrs.get('min') as number | undefined, attrs.get('max') as number | undefined] : [operands[1], operands[2]].map((o) => {
          if (o?.kind === 'act') throw new EvsimError('UNSUPPORTED_OP', `${where}: the bounds of a Clip on quantized integers must be constants`);
          return o?.kind === 'const' ? o.t.data[0] : undefined;
        });
        if (readers(tensors[x0]!.name) !== 1 || aliased.has(x0)) throw new EvsimError('UNSUPPORTED_OP', `${where}: quantized integers read by a Clip and by other nodes are not supported`);
        // Folded into the QuantizeLinear, a NaN bound would be reported there.
        const nan = bounds.findIndex((b) => Number.isNaN(b));
        if (nan >= 0) throw new EvsimError('BAD_MODEL', `${file}: ${where}: its ${nan === 0 ? 'min' : 'max'} is NaN; evsim runs numeric constants only (±Infinity where it means no bound): fix the model's attribute or initializer`);
        prev.op.a = Math.max(prev.op.a, bounds[0] ?? -Infinity);
        prev.op.b = Math.min(prev.op.b, bounds[1] ?? Infinity);
        acts.set(outs[0]!, x0);
        return;
      }
      if (opType === 'DequantizeLinear' && operands[0]?.kind === 'act') {
        // The other half of a QDQ pair: the QuantizeLinear's node already gives the dequantized value.
        const q = prev?.op.kind === 'unary' && prev.op.fn === 'fakequant' ? prev.op : null;
        const [s, z] = [operands[1], operands[2]];
        if (!q || s?.kind !== 'const' || (z !== undefined && z.kind === 'act')) {
          throw new EvsimError('UNSUPPORTED_OP', `${where}: DequantizeLinear of an activation must follow a QuantizeLinear with constant scale and zero point (QDQ fake quantization)`);
        }
        const p = quantParams(tensors[x0]!.shape, s.t, z?.kind === 'const' ? z.t : null, attrs, where, false);
        if (p.scale.some((v, i) => v !== q.quant!.scale[i]) || p.zero.some((v, i) => v !== q.quant!.zero[i])) {
          throw new EvsimError('UNSUPPORTED_OP', `${where}: its scale or zero point differs from the QuantizeLinear '${prev!.name}' before it; only matching QDQ pairs are supported`);
        }
        acts.set(outs[0]!, x0);
        return;
      }
      // Only when nothing else reads the tensor, under its name or an alias's (Identity, Dropout).
      const foldable = prev && (prev.op.kind === 'conv' || prev.op.kind === 'dense') && readers(tensors[x0]!.name) === 1 && !aliased.has(x0);
      // BatchNormalization normalises axis 1: a Gemm's output channels only when it is [N, n]
      // (a MatMul on [1, seq, feat] gives [1, seq, n], whose axis 1 is seq: an affine node).
      const bnOnChannels = prev?.op.kind === 'conv' || tensors[x0]?.shape.length === 2;
      if (foldable && bnOnChannels && opType === 'BatchNormalization' && tensors[x0]!.shape.length >= 2) {
        foldBatchNorm(prev, bnScaleShift(operands, attrs, where));
        acts.set(outs[0]!, x0);
        tensors[x0]!.name = outs[0]!;
        return;
      }
      if (foldable && (opType === 'Add' || opType === 'Sub') && operands[1]?.kind === 'const') {
        if (foldBias(prev, tensors[x0]!.shape, operands[1].t, opType === 'Sub' ? -1 : 1)) {
          acts.set(outs[0]!, x0);
          tensors[x0]!.name = outs[0]!;
          return;
        }
      }
      const conv = convertNode(opType, operands, attrs, opset, where, outs.length);
      // A Split gives one node per output (named name, name:1, …).
      [conv, ...(conv.more ?? [])].forEach((c, k) => {
        const outName = outs[k];
        if (outName === undefined || outName === '') return;
        const out = newTensor(outName, c.shape);
        const node: GraphNode = { id: nodes.length, name: k === 0 ? name : `${name}:${k}`, onnxOp: opType, op: normalizeInts(c.op), inputs: c.inputs, output: out };
        nodes.push(node);
        producer.set(out, node);
        acts.set(outName, out);
      });
    } catch (e) {
      // What a malformed node makes the converter trip on (a negative or huge shape, an
      // attribute of the wrong kind) is named by its node; running out of memory is not the model's fault.
      if (e instanceof EvsimError || (e instanceof RangeError && /allocation failed/.test(e.message))) throw e;
      throw new EvsimError('BAD_MODEL', `${where}: cannot be converted (${(e as Error).message}); the node is malformed, or evsim does not handle this form of the op`);
    }
  });

  const outName = outNames[0]!;
  const output = acts.get(outName);
  if (output === undefined) {
    throw new EvsimError('BAD_MODEL', consts.has(outName)
      ? `${file}: the output '${outName}' is a constant; nothing to simulate`
      : `${file}: no node produces the output '${outName}'; check the graph's output name`);
  }
  if (output === inputId) throw new EvsimError('BAD_MODEL', `${file}: the output is the input; nothing to simulate`);
  const g: Graph = { name: graph.name || basename(file, '.onnx'), tensors, nodes, input: inputId, output, opset };
  fuseGelu(g);
  const pruned = prune(g);
  checkFinite(pruned, file);
  return pruned;
}

/** What a unary node's `a` and `b` hold, by their ONNX names (see UnaryOp in ir.ts). */
const UNARY_FIELDS: Partial<Record<UnaryKind, readonly [string, string?]>> = {
  leakyrelu: ['alpha'], hardsigmoid: ['alpha', 'beta'], elu: ['alpha'], selu: ['alpha', 'gamma'], celu: ['alpha'],
  thresholdedrelu: ['alpha'], clip: ['min', 'max'], pow: ['exponent'], fakequant: ['integer range minimum', 'integer range maximum'],
};

/** A field of a node's op as messages name it: a unary node's `a` is its alpha, min or exponent. */
function fieldName(n: GraphNode, path: string): string {
  if (n.op.kind !== 'unary' || (path !== 'a' && path !== 'b')) return path;
  // A PRelu with one slope for all is a LeakyRelu.
  if (n.op.fn === 'leakyrelu' && n.onnxOp === 'PRelu') return 'slope';
  return UNARY_FIELDS[n.op.fn]?.[path === 'a' ? 0 : 1] ?? path;
}

/**
 * Refuses a NaN or infinite weight, bias or other constant a node computes with: it
 * would turn outputs into NaN (or, behind a ReLU, silently into 0) while the run's
 * accuracy and error read as numbers. Frames and thresholds are refused the same way.
 * A Clip bound and a Pad value may be ±Infinity — a Clip without a bound holds one, and
 * a Pad of −Infinity before a MaxPool is exported as such — but no scalar may be NaN: a
 * NaN Clip bound drops the bound silently (every comparison with it is false), a NaN
 * Pad value or alpha makes outputs NaN.
 */
export function checkFinite(g: Graph, file: string): void {
  const walk = (v: unknown, path: string, arrays: [string, Float32Array][], nans: string[]): void => {
    if (v instanceof Float32Array) arrays.push([path, v]);
    else if (typeof v === 'number' && Number.isNaN(v)) nans.push(path);
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`, arrays, nans));
    else if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v)) for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k, arrays, nans);
  };
  for (const n of g.nodes) {
    const arrays: [string, Float32Array][] = [];
    const nans: string[] = [];
    walk(n.op, '', arrays, nans);
    if (nans.length > 0) {
      throw new EvsimError('BAD_MODEL', `${file}: node '${n.name}' (${n.onnxOp}): its ${fieldName(n, nans[0]!)} is NaN; evsim runs numeric constants only (±Infinity where it means no bound): fix the model's attribute or initializer`);
    }
    // Only a Clip's bounds mean "none" as ±Infinity. An infinite alpha, gamma or exponent
    // makes outputs NaN (Celu everywhere, Elu and HardSigmoid at 0, Pow at ±1) or infinite
    // (LeakyRelu, whose deltas then give Inf − Inf); the rest (a ThresholdedRelu alpha, a
    // HardSigmoid beta) would make a constant layer, refused alike rather than simulated.
    if (n.op.kind === 'unary' && n.op.fn !== 'clip' && UNARY_FIELDS[n.op.fn]) {
      for (const f of ['a', 'b'] as const) {
        const v = n.op[f];
        if (!Number.isFinite(v) && UNARY_FIELDS[n.op.fn]![f === 'a' ? 0 : 1] !== undefined) {
          throw new EvsimError('BAD_MODEL', `${file}: node '${n.name}' (${n.onnxOp}): its ${fieldName(n, f)} is ${v}; it must be finite: fix the model's attribute or initializer`);
        }
      }
    }
    for (const [field, a] of arrays) {
      for (let i = 0; i < a.length; i++) {
        if (!Number.isFinite(a[i]!)) {
          throw new EvsimError('BAD_MODEL', `${file}: node '${n.name}' (${n.onnxOp}): its ${field} holds ${a[i]} at element ${i}; evsim runs finite weights only: fix the model's initializers`);
        }
      }
    }
  }
}

/** BN after a Conv/Gemm: W' = W·s, b' = b·s + t, per output channel. */
function foldBatchNorm(node: GraphNode, bn: { scale: Float64Array; shift: Float64Array; gamma: Float32Array }): void {
  const op = node.op as Extract<Op, { kind: 'conv' | 'dense' }>;
  const channels = op.kind === 'conv' ? op.cout : op.n;
  if (bn.scale.length !== channels) throw new EvsimError('BAD_MODEL', `node '${node.name}': BatchNormalization has ${bn.scale.length} channels, expected ${channels}`);
  if (op.kind === 'conv') {
    const per = op.weight.length / op.cout;
    for (let c = 0; c < op.cout; c++) for (let i = 0; i < per; i++) op.weight[c * per + i] = op.weight[c * per + i]! * bn.scale[c]!;
    const bias = new Float32Array(op.cout);
    for (let c = 0; c < op.cout; c++) bias[c] = (op.bias ? op.bias[c]! : 0) * bn.scale[c]! + bn.shift[c]!;
    op.bias = bias;
  } else {
    for (let k = 0; k < op.k; k++) for (let j = 0; j < op.n; j++) op.weight[k * op.n + j] = op.weight[k * op.n + j]! * bn.scale[j]!;
    const bias = new Float32Array(op.m * op.n);
    for (let i = 0; i < bias.length; i++) bias[i] = (op.bias ? op.bias[i]! : 0) * bn.scale[i % op.n]! + bn.shift[i % op.n]!;
    op.bias = bias;
  }
  op.bnGamma = bn.gamma;
}

/** Adds a constant into a Conv/Gemm bias when it is per output channel; false otherwise. */
function foldBias(node: GraphNode, shape: number[], c: ConstTensor, sign: 1 | -1): boolean {
  const op = node.op as Extract<Op, { kind: 'conv' | 'dense' }>;
  const b = broadcastShapes(c.shape, shape);
  if (!b || b.length !== shape.length || b.some((d, i) => d !== shape[i])) return false;
  const idx = broadcastIndex(c.shape, shape);
  if (op.kind === 'conv') {
    // Per-channel only: every position of a channel must read the same constant.
    const inner = numel(shape.slice(2));
    for (let ch = 0; ch < op.cout; ch++) for (let i = 1; i < inner; i++) if (idx[ch * inner + i] !== idx[ch * inner]) return false;
    const bias = op.bias ?? new Float32Array(op.cout);
    for (let ch = 0; ch < op.cout; ch++) bias[ch] = bias[ch]! + sign * c.data[idx[ch * inner]!]!;
    op.bias = bias;
  } else {
    if (numel(shape) !== op.m * op.n) return false;
    const bias = op.bias ?? new Float32Array(op.m * op.n);
    for (let i = 0; i < bias.length; i++) bias[i] = bias[i]! + sign * c.data[idx[i]!]!;
    op.bias = bias;
  }
  return true;
}

/** The largest tensor (elements) the simulator indexes with int32. */
const MAX_ELEMENTS = 2 ** 31 - 1;

/** Drops nodes that do not reach the output and renumbers tensors and nodes. */
function prune(g: Graph): Graph {
  const live = new Set<number>([g.output]);
  const keep: GraphNode[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (!live.has(n.output)) continue;
    keep.unshift(n);
    for (const t of n.inputs) live.add(t);
  }
  if (!live.has(g.input)) throw new EvsimError('BAD_MODEL', `${g.name}: the output does not depend on the input`);
  const remap = new Map<number, number>();
  const tensors: TensorInfo[] = [];
  const map = (t: number): number => {
    let r = remap.get(t);
    if (r === undefined) {
      r = tensors.length;
      remap.set(t, r);
      tensors.push(g.tensors[t]!);
    }
    return r;
  };
  map(g.input);
  const nodes = keep.map((n, id) => ({ ...n, id, inputs: n.inputs.map(map), output: map(n.output) }));
  return { ...g, tensors, nodes, input: map(g.input), output: map(g.output) };
}
