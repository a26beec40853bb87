/**
 * The Pareto scatter: every completed point over the first two objectives, the front
 * highlighted (and, for two objectives, joined as a staircase). Vega-Lite rendered to SVG.
 */
import type { TopLevelSpec } from 'vega-lite';
import { svgOf } from '../trace/report.js';
import { objectiveValue, type Objective } from './pareto.js';

export async function paretoSvg(
  title: string,
  rows: readonly Record<string, unknown>[],
  front: ReadonlySet<number>,
  objectives: readonly Objective[],
): Promise<string> {
  const [x, y] = objectives as [Objective, Objective];
  const values = rows
    .map((r, i) => ({ x: objectiveValue(x, r), y: objectiveValue(y, r), label: r.label, on: front.has(i) ? 'Pareto front' : 'dominated' }))
    .filter((v) => v.x !== null && v.y !== null);
  const onFront = values.filter((v) => v.on === 'Pareto front').sort((a, b) => (a.x as number) - (b.x as number));
  const enc = {
    x: { field: 'x', type: 'quantitative', title: `${x.label}${x.direction === 'max' ? ' ↑' : ' ↓'}`, scale: { zero: false } },
    y: { field: 'y', type: 'quantitative', title: `${y.label}${y.direction === 'max' ? ' ↑' : ' ↓'}`, scale: { zero: false } },
  };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, subtitle: objectives.length > 2 ? `front over ${objectives.map((o) => o.key).join(', ')}; drawn on the first two` : undefined },
    width: 520,
    height: 340,
    layer: [
      // With two objectives the front is a staircase worth joining; with more, its
      // projection on two axes is not, so the points are only highlighted.
      // Each step's corner is the worse of two neighbours in both objectives (a point both
      // dominate): with x minimised, the right one's x and the left one's y (step-after);
      // with x maximised, the left one's x and the right one's y (step-before).
      ...(objectives.length === 2 ? [{ data: { values: onFront }, mark: { type: 'line', color: '#d62728', strokeDash: [4, 3], interpolate: x.direction === 'max' ? 'step-before' : 'step-after' }, encoding: enc }] : []),
      {
        data: { values },
        mark: { type: 'point', filled: true, size: 70 },
        encoding: {
          ...enc,
          color: { field: 'on', type: 'nominal', title: null, scale: { domain: ['Pareto front', 'dominated'], range: ['#d62728', '#9e9e9e'] } },
          shape: { field: 'on', type: 'nominal', title: null, scale: { domain: ['Pareto front', 'dominated'], range: ['diamond', 'circle'] } },
        },
      },
    ],
  } as unknown as TopLevelSpec;
  return svgOf(spec);
}
