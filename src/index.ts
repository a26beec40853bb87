/**
 * evsim's library surface: `import { simulate } from 'evsim'`.
 */
export { simulate, type SimulateOptions, type SimulateResult } from './simulate.js';
export type { RunResult, FrameRecord, Totals, ErrorVsDense, LayerTotals } from './runtime/result.js';
export { loadOnnx, importOnnx } from './model/onnx/import.js';
export { DenseExecutor } from './model/dense/executor.js';
export { createEngine, EvnetEngine, type EvnetOptions, type LayerOverride, type FrameCounts, type LayerInfo } from './model/evnet/engine.js';
export { parsePolicy, formatPolicy, type PolicySpec } from './model/evnet/policy.js';
export type { Graph, GraphNode, Op, TensorInfo } from './model/ir.js';
export { readNpy, readFloat32Npy, readLabelsNpy, writeNpy, encodeNpy, parseNpy } from './workloads/npy.js';
export { EvsimError, type ErrorCode } from './errors.js';
export { sweep, type SweepOptions, type SweepResult, type SweepPoint, type SweepProgress } from './sweep/run.js';
export { expandSweep, loadSweepFile, type SweepSpec, type SweepBase, type PointDoc, type ResolvedPoint, type ExpandedSweep } from './sweep/spec.js';
export { paretoFront, parseObjectives, isObjectiveName, OBJECTIVES, type Objective, type ObjectiveName } from './sweep/pareto.js';
export type { PointMetrics, PointOutcome } from './sweep/point.js';
export { makeWorkload, type WorkloadSpec, type Workload } from './workloads/workload.js';
export { syntheticVideo, type Motion, type VideoOptions } from './workloads/video.js';
export { temporalMnist, temporalMnistOrder, type TemporalMnistOptions, type TemporalMnist } from './workloads/temporal-mnist.js';
export type { MnistSet } from './workloads/mnist.js';
export { loadChip, resolveChip, type ChipDoc } from './config/chip-config.js';
export type { ChipSpec } from './chip/spec.js';
export type { PlacementStrategy } from './chip/mapper.js';
// A custom trace writer for simulate({ trace }): what it is handed.
export type { TraceSink, TraceRunInfo, TraceLayer, TraceCore, TraceLayerFrame, TraceCoreFrame, RunStatus, RunScores } from './runtime/trace-sink.js';
export type { FrameEvents } from './runtime/messages.js';
