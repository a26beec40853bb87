/**
 * evsim's library surface: `import { simulate } from 'evsim'`.
 */
export { simulate, type SimulateOptions, type SimulateResult } from './runtime/simulate.js';
export type { RunResult, FrameRecord, Totals, ErrorVsDense, LayerTotals } from './runtime/result.js';
export { loadOnnx, importOnnx } from './model/onnx/import.js';
export { DenseExecutor } from './model/dense/executor.js';
export { createEngine, EvnetEngine, type EvnetOptions, type LayerOverride, type FrameCounts, type LayerInfo } from './model/evnet/engine.js';
export { parsePolicy, formatPolicy, type PolicySpec } from './model/evnet/policy.js';
export type { Graph, GraphNode, Op, TensorInfo } from './model/ir.js';
export { readNpy, readFloat32Npy, readLabelsNpy, writeNpy, encodeNpy, parseNpy } from './workloads/npy.js';
export { EvsimError, type ErrorCode } from './errors.js';
