/**
 * Named workloads generated in memory (no .npy step): the synthetic camera-motion
 * video sized to the model's input, or a slice of Temporal MNIST with its labels.
 */
import { EvsimError, shownValue } from '../errors.js';
import { temporalMnist } from './temporal-mnist.js';
import { syntheticVideo, type Motion } from './video.js';

export type WorkloadSpec =
  | { kind: 'video'; motion: Motion; frames: number; seed: number }
  | { kind: 'temporal-mnist'; frames: number };

/** The most float32 values one generated video holds (1 GiB): more is a typo, not a workload. */
export const MAX_VIDEO_VALUES = 2 ** 28;

export interface Workload {
  frames: { shape: number[]; data: Float32Array };
  labels: Int32Array | null;
}

/** Refuses a video of `frames` frames of `inputShape` (batch first) larger than evsim generates at once. */
export function checkVideoSize(frames: number, inputShape: readonly number[]): void {
  const frame = inputShape.slice(1);
  const values = frames * frame.reduce((a, b) => a * b, 1);
  if (values > MAX_VIDEO_VALUES) {
    throw new EvsimError('BAD_FRAMES', `${frames} frames of [${frame.join(', ')}] are ${values.toExponential(2)} values, more than evsim generates at once (${MAX_VIDEO_VALUES.toExponential(2)}); use fewer frames`);
  }
}

/** Builds the workload for a model whose input (batch dimension included) is `inputShape`. */
export function makeWorkload(spec: WorkloadSpec, inputShape: readonly number[]): Workload {
  if (spec === null || typeof spec !== 'object') throw new EvsimError('BAD_USAGE', `makeWorkload() takes a workload { kind: 'video' | 'temporal-mnist', frames, … }, got ${shownValue(spec)}`);
  if (!Array.isArray(inputShape)) throw new EvsimError('BAD_USAGE', `makeWorkload() takes the model's input shape as an array, got ${shownValue(inputShape)}`);
  if (spec.kind === 'video') {
    if (inputShape.length !== 4) {
      throw new EvsimError('BAD_FRAMES', `the video workload needs an image model (input [1, C, H, W]); this model's input is [${inputShape.join(', ')}]`);
    }
    const [, channels, height, width] = inputShape as [number, number, number, number];
    checkVideoSize(spec.frames, inputShape);
    return { frames: syntheticVideo({ frames: spec.frames, channels, height, width, motion: spec.motion, seed: spec.seed }), labels: null };
  }
  if (spec.kind !== 'temporal-mnist') throw new EvsimError('BAD_USAGE', `workload kind must be 'video' or 'temporal-mnist', got ${shownValue((spec as { kind?: unknown }).kind)}`);
  const tm = temporalMnist({ frames: spec.frames });
  return { frames: tm.frames, labels: tm.labels };
}
