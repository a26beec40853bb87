/** `evsim workload video`: writes a deterministic synthetic video as frames.npy. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EvsimError } from '../errors.js';
import { writeNpy } from '../workloads/npy.js';
import { syntheticVideo, type Motion } from '../workloads/video.js';

export interface WorkloadArgs {
  kind: 'video';
  motion: Motion;
  frames: number;
  size: string;
  channels: number;
  seed: number;
  out: string;
}

export function workloadCommand(a: WorkloadArgs): string {
  const m = /^(\d+)x(\d+)$/.exec(a.size);
  if (!m) throw new EvsimError('BAD_USAGE', `--size must be HxW, e.g. 128x128, got '${a.size}'`);
  if (!Number.isInteger(a.frames) || a.frames < 1) throw new EvsimError('BAD_USAGE', `--frames must be a positive integer, got ${a.frames}`);
  if (!Number.isInteger(a.channels) || a.channels < 1) throw new EvsimError('BAD_USAGE', `--channels must be a positive integer, got ${a.channels}`);
  const video = syntheticVideo({ frames: a.frames, channels: a.channels, height: Number(m[1]), width: Number(m[2]), motion: a.motion, seed: a.seed });
  mkdirSync(a.out, { recursive: true });
  const path = join(a.out, 'frames.npy');
  writeNpy(path, video);
  return `wrote ${path}: float32 [${video.shape.join(', ')}], motion ${a.motion}, seed ${a.seed}`;
}
