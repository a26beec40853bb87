/**
 * What a virtual chip is (DESIGN §5): its shape (ChipSpec, defined in config/chip-spec.ts
 * beside the schema that reads chip files) and what follows from it. Presets live in
 * sim-configs/chips/*.yaml.
 */
import { COST_KEYS, type ChipSpec } from '../config/chip-spec.js';

export { COST_KEYS, type ChipSpec, type Cost, type CoreCapacity, type CostKey } from '../config/chip-spec.js';

/**
 * True for an ideal chip — every cost zero and no capacity limit — on which the
 * functional path is exact. A free chip with limits still needs mapping (it can fail to fit).
 */
export function isFree(chip: ChipSpec): boolean {
  const c = chip.core;
  const unlimited = c.neurons === Infinity && c.synapseBytes === Infinity && c.fanIn === Infinity && c.queueDepth === Infinity;
  return unlimited && chip.staticMw === 0 && COST_KEYS.every((k) => chip.costs[k].energyPj === 0 && chip.costs[k].latencyNs === 0);
}
