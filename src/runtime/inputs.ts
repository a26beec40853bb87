/**
 * Frames and labels for a run, checked against the model before anything is
 * simulated (DESIGN §8: float32 `[T, ...input shape without batch]`, `[T, 1, ...]`
 * accepted; int labels `[T]`).
 */
import { EvsimError } from '../errors.js';
import type { Graph } from '../model/ir.js';
import { readFloat32Npy, readLabelsNpy } from '../workloads/npy.js';

export interface Frames {
  data: Float32Array;
  count: number;
  frameSize: number;
  /** Where they came from, for messages. */
  source: string;
}

/**
 * One frame's output shape: without the batch dimension when it is 1, whole otherwise
 * (an output reshaped to [36, 5] keeps its 36).
 */
export function outputFrameShape(shape: readonly number[]): number[] {
  return shape[0] === 1 ? shape.slice(1) : [...shape];
}

/** The model input shape without its batch dimension. */
export function frameShapeOf(g: Graph): number[] {
  return g.tensors[g.input]!.shape.slice(1);
}

/** The index of the first NaN or ±Inf, or −1 (its own function: see gemvRow in dense/ops.ts). */
function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return i;
  return -1;
}

/** Validates a [T, ...] array against the model input. */
export function checkFrames(g: Graph, shape: readonly number[], data: Float32Array, source: string): Frames {
  if (!(data instanceof Float32Array)) throw new EvsimError('BAD_FRAMES', `${source}: frames.data must be a Float32Array, got ${Array.isArray(data) ? 'an array' : typeof data}`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new EvsimError('BAD_FRAMES', `${source}: frames.shape must be a list of non-negative integers [T, ...input shape]`);
  }
  const declared = shape.reduce((a, b) => a * b, 1);
  if (data.length !== declared) {
    throw new EvsimError('BAD_FRAMES', `${source}: frames.shape [${shape.join(', ')}] holds ${declared} values but frames.data has ${data.length}`);
  }
  const want = frameShapeOf(g);
  const got = shape.slice(1);
  const squeeze = (s: readonly number[]): string => s.filter((d) => d !== 1).join('x');
  if (shape.length < 1 || squeeze(got) !== squeeze(want)) {
    // An image model's video can come from evsim itself, at the model's size.
    const make = want.length === 3 ? ` (evsim workload video --channels ${want[0]} --size ${want[1]}x${want[2]} --frames T --out DIR writes one)` : '';
    throw new EvsimError(
      'BAD_FRAMES',
      `${source}: frames have shape [${shape.join(', ')}] but the model input '${g.tensors[g.input]!.name}' needs [T, ${want.join(', ')}]; save the video as float32 [T, ${want.join(', ')}]${make}`,
    );
  }
  const count = shape[0]!;
  if (count === 0) throw new EvsimError('BAD_FRAMES', `${source}: the video has no frames`);
  const frameSize = want.reduce((a, b) => a * b, 1);
  const i = firstNonFinite(data);
  if (i >= 0) {
    throw new EvsimError('BAD_FRAMES', `${source}: frame ${Math.floor(i / frameSize)} holds a non-finite value (NaN or ±Inf) at element ${i % frameSize}`);
  }
  return { data, count, frameSize, source };
}

export function loadFrames(g: Graph, path: string): Frames {
  const arr = readFloat32Npy(path, 'frames');
  return checkFrames(g, arr.shape, arr.data, path);
}

/**
 * Labels against the video and the model: one per frame of the video, each a class the
 * output can name (0 … outputs − 1); `source` names them in messages.
 */
export function checkLabels(labels: Int32Array, videoFrames: number, classes: number, source: string): Int32Array {
  // From the library labels come as they are: a Float32Array of 1.5s would match no class.
  if (!(labels instanceof Int32Array)) {
    const what = labels === null || typeof labels !== 'object' ? typeof labels : (labels as object).constructor?.name ?? 'object';
    throw new EvsimError('BAD_FRAMES', `${source}: labels must be an Int32Array of class indices (one per frame), got ${what}`);
  }
  if (labels.length !== videoFrames) {
    throw new EvsimError('BAD_FRAMES', `${source}: ${labels.length} labels for a video of ${videoFrames} frames; give one label per frame (int [${videoFrames}])`);
  }
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    if (v < 0 || v >= classes) {
      throw new EvsimError('BAD_FRAMES', `${source}: label ${v} of frame ${i} is not a class of the model's ${classes} outputs (0…${classes - 1})`);
    }
  }
  return labels;
}

export function loadLabels(path: string, videoFrames: number, classes: number): Int32Array {
  return checkLabels(readLabelsNpy(path), videoFrames, classes, path);
}
