/** `evsim inspect M.onnx`: graph with domains, inserted gates/accumulators, MACs, memory. */
import { basename } from 'node:path';
import { availableParallelism } from 'node:os';
import { mapNetwork, parseMeshSize, type PlacementStrategy } from '../chip/mapper.js';
import { loadChip } from '../config/chip-config.js';
import { EvsimError } from '../errors.js';
import { createEngine } from '../model/evnet/engine.js';
import type { EvPlan } from '../model/evnet/plan.js';
import { parsePolicy, type PolicySpec } from '../model/evnet/policy.js';
import { loadOnnx } from '../model/onnx/import.js';
import { pipelineAssignment } from '../runtime/chip/balance.js';
import { gateChunks } from '../runtime/chip/run-chip.js';
import { fmtBytes, fmtInt, table } from './format.js';

export interface InspectArgs {
  model: string;
  /** The model output shown, by name (a model with several). */
  modelOutput?: string;
  json?: boolean;
  chip?: string;
  mesh?: string;
  placement?: PlacementStrategy;
  /** Worker threads whose actors the mapping is shown grouped into (as `evsim run --workers`). */
  workers?: number;
  /** The run's policy: a `chunk:C` keeps C channels together on a core, as `evsim run` maps. */
  policy?: string;
}

/** The mapping section of `inspect --chip`: cores per layer, utilisation, synapse memory. */
function mappingReport(plan: EvPlan, a: InspectArgs, flags: { mesh: ReturnType<typeof parseMesh>; policy: PolicySpec | null }): { text: string; json: unknown } {
  const chip = loadChip(a.chip!);
  const { mesh } = flags;
  // chunk:C maps each gated layer's channels in groups of C, as a run with that policy does.
  const chunks = flags.policy ? gateChunks(plan, flags.policy) : undefined;
  const m = mapNetwork(plan, chip, { mesh, strategy: a.placement, chunks });
  const workers = Math.max(1, Math.min(a.workers ?? Math.min(2, availableParallelism()), m.cores.length));
  const actorOf = pipelineAssignment(m, workers);
  const rows = m.segments.map((seg) => {
    const parts = m.partitions.filter((p) => p.segment === seg.id);
    // Cores of the layer per actor (the pipeline stretches of a run with this many workers).
    const actors: Record<string, number> = {};
    for (const p of parts) actors[actorOf[p.core]!] = (actors[actorOf[p.core]!] ?? 0) + 1;
    const neurons = parts.reduce((s, p) => s + p.neurons, 0);
    // Shadow rows (an overlapping max pool across partitions) take neurons on a core too.
    const shadow = parts.reduce((s, p) => s + (p.s1 - p.r1) * seg.cols * (p.c1 - p.c0), 0);
    const syn = parts.reduce((s, p) => s + p.synapseBytes, 0);
    const maxSyn = Math.max(...parts.map((p) => p.synapseBytes));
    return {
      layer: (seg.synaptic.map((x) => x.node.name).join(' + ') || seg.acc.name) + (seg.relay ? ' (relay)' : ''),
      relay: seg.relay,
      cores: parts.length,
      neurons,
      shadow_neurons: shadow,
      // Null on a core without a limit (a fraction of unlimited reads as 0 %).
      utilisation: Number.isFinite(chip.core.neurons) ? (neurons + shadow) / (parts.length * chip.core.neurons) : null,
      synapse_bytes: syn,
      max_synapse_fill: Number.isFinite(chip.core.synapseBytes) ? maxSyn / chip.core.synapseBytes : null,
      gates: seg.gates.map((g) => g.name),
      actors,
    };
  });
  const actorsCell = (x: Record<string, number>): string => {
    const ks = Object.keys(x);
    return ks.length === 1 ? ks[0]! : ks.map((k) => `${k} (${x[k]})`).join(' · ');
  };
  const pct = (x: number | null): string => (x !== null && Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : '—');
  const text = [
    `mapping on ${chip.name}: ${m.cores.length} core${m.cores.length === 1 ? '' : 's'} on a ${m.width}×${m.height} mesh (${chip.coresPerTile} cores/tile), ${m.strategy} placement; input sensor on tile (0,0)`,
    table(
      ['layer', 'cores', 'neurons', 'neuron use', 'synapses', 'max synapse fill', `actor (${workers} worker${workers > 1 ? 's' : ''})`],
      rows.map((r) => [r.layer, r.cores, `${fmtInt(r.neurons)}${r.shadow_neurons > 0 ? ` + ${fmtInt(r.shadow_neurons)} shadow` : ''}`, pct(r.utilisation), fmtBytes(r.synapse_bytes), pct(r.max_synapse_fill), actorsCell(r.actors)]),
    ),
    rows.some((r) => r.relay) ? 'relay: a layer with no activation after it; its neurons send their summed input on, keeping no accumulator' : '',
    workers > 1 ? `actors run the layers as a pipeline (cores of a split layer in parentheses); --workers N shows another grouping` : '',
  ].filter((l) => l !== '').join('\n');
  return { text, json: { chip: chip.name, cores: m.cores.length, mesh: { width: m.width, height: m.height }, placement: m.strategy, workers, layers: rows } };
}

export function parseMesh(mesh: string | undefined): 'auto' | { width: number; height: number } | undefined {
  if (mesh === undefined || mesh === 'auto') return mesh;
  const wh = parseMeshSize(mesh);
  if (!wh) throw new EvsimError('BAD_USAGE', `--mesh must be 'auto' or WxH (e.g. 8x4), got '${mesh}'`);
  return wh;
}

export function inspectModel(a: InspectArgs): string {
  const args = a;
  // Checked on every chip (ideal maps nothing, but the flags must still be good ones).
  const flags = { mesh: parseMesh(a.mesh), policy: a.policy !== undefined ? parsePolicy(a.policy) : null };
  const graph = loadOnnx(args.model, args.modelOutput);
  // The model as runs and traces name it (the file's name), beside the name inside the file.
  const model = basename(args.model, '.onnx');
  const engine = createEngine(graph, { threshold: 0.05, policy: parsePolicy('threshold') });
  const mapping = a.chip && a.chip !== 'ideal' ? mappingReport(engine.plan, a, flags) : null;
  const mem = engine.memory();
  const denseMacs = engine.layers.reduce((s, l) => s + l.denseMacs, 0);
  if (args.json) {
    return JSON.stringify({
      model,
      graph: graph.name,
      opset: graph.opset,
      input: { name: graph.tensors[graph.input]!.name, shape: graph.tensors[graph.input]!.shape },
      output: { name: graph.tensors[graph.output]!.name, shape: graph.tensors[graph.output]!.shape },
      dense_macs_per_frame: denseMacs,
      memory: { weight_bytes: mem.weightBytes, state_bytes: mem.stateBytes },
      mapping: mapping?.json ?? null,
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
    `${model}${graph.name !== model ? ` (graph '${graph.name}')` : ''}  (ONNX opset ${graph.opset})  input [${graph.tensors[graph.input]!.shape.join('×')}] → output [${graph.tensors[graph.output]!.shape.join('×')}]`,
    '',
    table(['id', 'layer', 'op', 'domain', 'shape', 'dense MACs', 'weights', 'state'], rows),
    '',
    `${gates} gates and ${accs} accumulators inserted (» rows); gates feed delta-domain nodes, accumulators feed value-domain nodes.`,
    `dense MACs per frame ${fmtInt(denseMacs)}; weights ${fmtBytes(mem.weightBytes)}; EvNet state ${fmtBytes(mem.stateBytes)} (4 B × (accumulators + 2 × gates))`,
    'Per-gate thresholds and policies can be set in a run config under layers.<gate name>.',
    ...(mapping ? ['', mapping.text] : []),
  ].join('\n');
}
