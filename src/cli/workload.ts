/**
 * `evsim workload video|temporal-mnist`: writes a workload as .npy files in a folder.
 * video → frames.npy float32 [T, C, H, W] (deterministic synthetic video);
 * temporal-mnist → frames.npy float32 [T, 784] (pixels x/255) and labels.npy int32 [T].
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EvsimError } from '../errors.js';
import { writeNpy } from '../workloads/npy.js';
import { loadMnist } from '../workloads/mnist.js';
import { temporalMnist } from '../workloads/temporal-mnist.js';
import { MAX_SEED, syntheticVideo, type Motion } from '../workloads/video.js';
import { MAX_VIDEO_VALUES } from '../workloads/workload.js';
import { makeDirs } from '../files.js';

/** Flags as yargs parses them; unset flags are undefined so kind-specific defaults apply. */
export interface WorkloadArgs {
  kind: 'video' | 'temporal-mnist';
  motion?: Motion;
  frames?: number;
  size?: string;
  channels?: number;
  seed?: number;
  out: string;
}

const VIDEO_ONLY = ['motion', 'size', 'channels', 'seed'] as const;

function positiveInt(v: number, flag: string): number {
  if (!Number.isInteger(v) || v < 1) throw new EvsimError('BAD_USAGE', `--${flag} must be a positive integer, got ${v}`);
  return v;
}

function makeDir(dir: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new EvsimError('BAD_USAGE', `--out ${dir} is a file; give a folder (the workload is written as frames.npy in it)`);
  try {
    makeDirs(dir);
  } catch (e) {
    throw new EvsimError('BAD_USAGE', `--out ${dir}: cannot create the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

function videoWorkload(a: WorkloadArgs): string {
  const size = a.size ?? '128x128';
  const m = /^(\d+)x(\d+)$/.exec(size);
  if (!m) throw new EvsimError('BAD_USAGE', `--size must be HxW, e.g. 128x128, got '${size}'`);
  const frames = positiveInt(a.frames ?? 100, 'frames');
  const channels = positiveInt(a.channels ?? 3, 'channels');
  const motion = a.motion ?? 'minor';
  const seed = a.seed ?? 1;
  if (!(seed >= 0 && seed <= MAX_SEED)) throw new EvsimError('BAD_USAGE', `--seed must be an integer in 0…${MAX_SEED} (the generator's 32 bits), got ${seed}`);
  if (Number(m[1]) < 1 || Number(m[2]) < 1) throw new EvsimError('BAD_USAGE', `--size must be at least 1x1, got '${size}'`);
  const values = frames * channels * Number(m[1]) * Number(m[2]);
  if (values > MAX_VIDEO_VALUES) {
    throw new EvsimError('BAD_USAGE', `a ${frames}-frame ${channels}×${size} video holds ${values.toExponential(2)} values, more than one .npy file evsim writes (${MAX_VIDEO_VALUES.toExponential(2)}); use fewer --frames or a smaller --size`);
  }
  const video = syntheticVideo({ frames, channels, height: Number(m[1]), width: Number(m[2]), motion, seed });
  makeDir(a.out);
  const path = join(a.out, 'frames.npy');
  writeNpy(path, video);
  return `wrote ${path}: float32 [${video.shape.join(', ')}], motion ${motion}, seed ${seed}`;
}

function temporalMnistWorkload(a: WorkloadArgs): string {
  const given = VIDEO_ONLY.filter((k) => a[k] !== undefined);
  if (given.length > 0) {
    throw new EvsimError('BAD_USAGE', `${given.map((k) => `--${k}`).join(', ')} ${given.length === 1 ? 'applies' : 'apply'} only to the video workload; temporal-mnist takes --frames and --out`);
  }
  const limit = loadMnist('t10k').count;
  if (a.frames !== undefined && (!Number.isInteger(a.frames) || a.frames < 1 || a.frames > limit)) {
    throw new EvsimError('BAD_USAGE', `--frames must be an integer in 1…${limit} (the MNIST test set), got ${a.frames}`);
  }
  const tm = temporalMnist({ frames: a.frames });
  makeDir(a.out);
  const framesPath = join(a.out, 'frames.npy');
  const labelsPath = join(a.out, 'labels.npy');
  writeNpy(framesPath, tm.frames);
  writeNpy(labelsPath, { shape: [tm.labels.length], data: tm.labels });
  return `wrote ${framesPath}: float32 [${tm.frames.shape.join(', ')}] and ${labelsPath}: int32 [${tm.labels.length}], Temporal MNIST (t10k, greedy L1 order)`;
}

/** Runs the command; returns the line to print. @throws EvsimError BAD_USAGE on bad flags. */
export function workloadCommand(a: WorkloadArgs): string {
  switch (a.kind) {
    case 'video': return videoWorkload(a);
    case 'temporal-mnist': return temporalMnistWorkload(a);
  }
}
