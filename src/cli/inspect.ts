/** `evsim inspect M.onnx`: graph with domains, inserted gates/accumulators, MACs, memory. */
import { createEngine } from '../model/evnet/engine.js';
import { parsePolicy } from '../model/evnet/policy.js';
import { loadOnnx } from '../model/onnx/import.js';
import { fmtBytes, fmtInt, table } from './format.js';

export interface InspectArgs {
  model: string;
  json?: boolean;
}

export function inspectModel(args: InspectArgs): string {
  const graph = loadOnnx(args.model);
  const engine = createEngine(graph, { threshold: 0.05, policy: parsePolicy('threshold') });
  const mem = engine.memory();
  const denseMacs = engine.layers.reduce((s, l) => s + l.denseMacs, 0);
  if (args.json) {
    return JSON.stringify({
      model: graph.name,
      opset: graph.opset,
      input: { name: graph.tensors[graph.input]!.name, shape: graph.tensors[graph.input]!.shape },
      output: { name: graph.tensors[graph.output]!.name, shape: graph.tensors[graph.output]!.shape },
      dense_macs_per_frame: denseMacs,
      memory: { weight_bytes: mem.weightBytes, state_bytes: mem.stateBytes },
      layers: engine.layers.map((l) => ({
        id: l.id, name: l.name, kind: l.kind, op: l.op, onnx_op: l.onnxOp, domain: l.domain, shape: l.shape,
        dense_macs: l.denseMacs, weight_bytes: l.weightBytes, state_bytes: l.stateBytes,
      })),
    }, null, 2);
  }
  const rows = engine.layers.map((l) => [
    l.id,
    l.kind === 'node' ? l.name : `${l.kind === 'gate' ? '» gate' : l.kind === 'acc' ? '» acc' : 'input'} ${l.name}`,
    l.kind === 'node' ? `${l.op}${l.onnxOp && l.onnxOp.toLowerCase() !== l.op ? ` (${l.onnxOp})` : ''}` : l.op,
    l.domain,
    `[${l.shape.join('×')}]`,
    l.denseMacs ? fmtInt(l.denseMacs) : '',
    l.weightBytes ? fmtBytes(l.weightBytes) : '',
    l.stateBytes ? fmtBytes(l.stateBytes) : '',
  ]);
  const gates = engine.layers.filter((l) => l.kind === 'gate').length;
  const accs = engine.layers.filter((l) => l.kind === 'acc').length;
  return [
    `${graph.name}  (ONNX opset ${graph.opset})  input [${graph.tensors[graph.input]!.shape.join('×')}] → output [${graph.tensors[graph.output]!.shape.join('×')}]`,
    '',
    table(['id', 'layer', 'op', 'domain', 'shape', 'dense MACs', 'weights', 'state'], rows),
    '',
    `${gates} gates and ${accs} accumulators inserted (» rows); gates feed delta-domain nodes, accumulators feed value-domain nodes.`,
    `dense MACs per frame ${fmtInt(denseMacs)}; weights ${fmtBytes(mem.weightBytes)}; EvNet state ${fmtBytes(mem.stateBytes)} (4 B × (accumulators + 2 × gates))`,
    'Per-gate thresholds and policies can be set in a run config under layers.<gate name>.',
  ].join('\n');
}
