/**
 * The shape of a virtual chip (DESIGN §5): a W×H mesh of tiles (routers), C cores per
 * tile, per-core capacities and a cost table giving every event kind an energy (pJ) and
 * a latency (ns). Defined here, beside the schema that reads chip files into it, so
 * config/ needs nothing from chip/ (DESIGN §2: chip may import config, not the reverse);
 * chip/spec.ts re-exports it.
 */

export const COST_KEYS = [
  'synop',
  'dendrite_add',
  'neuron_update',
  'spike',
  'message_out',
  'message_in',
  'hop_ew',
  'hop_ns',
] as const;

export type CostKey = (typeof COST_KEYS)[number];

export interface Cost {
  energyPj: number;
  latencyNs: number;
}

export interface CoreCapacity {
  /** Neurons (output elements of synaptic nodes) per core; Infinity = unlimited. */
  neurons: number;
  /** Synapse memory per core in bytes; Infinity = unlimited. */
  synapseBytes: number;
  /**
   * Distinct inputs a neuron may read; Infinity = no limit. Checked per neuron: TrueNorth's
   * 256 axons bound the inputs of a whole core, which evsim does not check.
   */
  fanIn: number;
  /** Messages a core buffers before later ones wait in the network; Infinity = unlimited. */
  queueDepth: number;
  /** Bits per stored weight, for synapse memory. */
  weightBits: number;
}

export interface ChipSpec {
  name: string;
  /** Mesh size in tiles; null = grow to fit (`mesh: auto`). */
  mesh: { width: number; height: number } | null;
  coresPerTile: number;
  core: CoreCapacity;
  costs: Record<CostKey, Cost>;
  /** Static power per powered core, mW (optional; 0 = none). */
  staticMw: number;
  /** Frame k enters at k·framePeriodNs; 0 = as soon as the input cores finished frame k−1. */
  framePeriodNs: number;
}
