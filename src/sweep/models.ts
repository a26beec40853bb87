/**
 * Parsed models by path, one cache per thread: a sweep's checks, its shared inputs and
 * reference outputs, and the points a thread runs all use one parse of each model.
 */
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Graph } from '../model/ir.js';
import { loadOnnx } from '../model/onnx/import.js';

const graphs = new Map<string, { graph: Graph; stamp: string }>();

/**
 * The model at `path` (its output `output`, for a model with several), named after its file; parsed on first use and again when the
 * file has changed since (errors as loadOnnx's), so a long-lived process running sweep
 * after sweep never checks or runs an edited model as its old version.
 */
export function graphOf(path: string, output: string | null = null): Graph {
  let stamp = '';
  try {
    const st = statSync(path);
    stamp = `${st.mtimeMs}:${st.size}`;
  } catch {
    // loadOnnx reports the missing or unreadable file.
  }
  // A model with several outputs is one graph per output simulated.
  const key = modelKey(path, output);
  const have = graphs.get(key);
  if (have && have.stamp === stamp) return have.graph;
  const graph = loadOnnx(path, output ?? undefined);
  graph.name = basename(path, '.onnx');
  graphs.set(key, { graph, stamp });
  return graph;
}

/**
 * A model as points are told apart by: its file's content hash, and the output simulated
 * when it has several (points on different outputs never share keys or reference outputs).
 */
export function modelId(hash: string, output: string | null): string {
  return output === null ? hash : `${hash}#${output}`;
}

/** How a model file is keyed in caches: its path, and the output simulated when it has several. */
export function modelKey(path: string, output: string | null): string {
  return output === null ? path : `${path}\u0000${output}`;
}
