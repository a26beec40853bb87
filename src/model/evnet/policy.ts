/**
 * Transmission policies of DESIGN §3, parsed from strings such as `threshold`,
 * `memory-loss`, `memory-loss,reset:8`, `rounding`, `chunk:4`.
 */
import { EvsimError, shownValue } from '../../errors.js';

export interface Policy {
  /** `threshold` (EvNet gate) or `rounding` (Sigma-Delta). */
  mode: 'threshold' | 'rounding';
  /** The conventional baseline (`--dense`): every flush sends every neuron, zeros too. */
  sendAll?: boolean;
  /** d = 0 after every frame (Skip-Conv) instead of d −= p. */
  memoryLoss: boolean;
  /** Channels that fire together (1 = every neuron on its own). */
  chunk: number;
}

export interface PolicySpec extends Policy {
  /** Re-flush the whole network every N frames (0 = never). Network-wide. */
  resetEvery: number;
}

export const POLICY_HELP = "threshold | memory-loss | rounding | chunk:C, optionally with ',reset:N' (e.g. memory-loss,reset:8)";

function positiveInt(s: string, what: string, text: string): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isInteger(n) || n < 1) {
    throw new EvsimError('BAD_POLICY', `policy '${text}': ${what} must be a positive integer, got '${s}'`);
  }
  return n;
}

export function parsePolicy(text: string): PolicySpec {
  if (typeof text !== 'string') throw new EvsimError('BAD_POLICY', `policy must be a string such as 'threshold' or 'memory-loss,reset:8', got ${shownValue(text)}`);
  const spec: PolicySpec = { mode: 'threshold', memoryLoss: false, chunk: 1, resetEvery: 0 };
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  if (parts.length === 0) throw new EvsimError('BAD_POLICY', `policy is empty; use ${POLICY_HELP}`);
  let base = 0;
  const seen = new Set<string>();
  for (const p of parts) {
    // chunk:3,chunk:4 would silently keep the last: each kind of part once.
    const kind = p.includes(':') ? p.slice(0, p.indexOf(':') + 1) : p;
    if (seen.has(kind)) throw new EvsimError('BAD_POLICY', `policy '${text}' gives ${kind.endsWith(':') ? `${kind}N` : `'${kind}'`} more than once; give it once`);
    seen.add(kind);
    if (p === 'threshold') base++;
    else if (p === 'memory-loss') { spec.memoryLoss = true; base++; }
    else if (p === 'rounding') { spec.mode = 'rounding'; base++; }
    else if (p.startsWith('chunk:')) spec.chunk = positiveInt(p.slice(6), 'the chunk size C', text);
    else if (p.startsWith('reset:')) spec.resetEvery = positiveInt(p.slice(6), 'the reset period N', text);
    else throw new EvsimError('BAD_POLICY', `policy '${text}': unknown part '${p}'; use ${POLICY_HELP}`);
  }
  if (base > 1) throw new EvsimError('BAD_POLICY', `policy '${text}' names more than one of threshold, memory-loss, rounding`);
  if (spec.mode === 'rounding' && spec.chunk > 1) throw new EvsimError('BAD_POLICY', `policy '${text}': rounding cannot be combined with chunk:C`);
  return spec;
}

export function formatPolicy(p: PolicySpec): string {
  // --dense: every frame re-flushed and every neuron sent (reset:1 plus sendAll).
  if (p.sendAll) return 'dense';
  const parts = [p.mode === 'rounding' ? 'rounding' : p.memoryLoss ? 'memory-loss' : 'threshold'];
  if (p.chunk > 1) parts.push(`chunk:${p.chunk}`);
  if (p.resetEvery > 0) parts.push(`reset:${p.resetEvery}`);
  return parts.join(',');
}

/** Round half to even (the Sigma-Delta policy's rounding; shared with ONNX QuantizeLinear). */
export { roundHalfEven } from '../dense/ops.js';
