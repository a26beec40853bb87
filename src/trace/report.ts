/**
 * `evsim report TRACE --html OUT.html`: a self-contained page for one run — per-frame
 * latency and energy, MACs against dense MACs, per-layer sparsity and a per-tile energy
 * heatmap of the mesh. Charts are Vega-Lite specs rendered to inline SVG here, so the
 * page needs no script and no network.
 */
import { writeFileSync } from 'node:fs';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { EvsimError } from '../errors.js';
import { assertWritable } from '../files.js';
import { queryTrace, runOf, traceRun } from './query.js';

type Rows = Record<string, unknown>[];

export async function svgOf(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** Frames are integers: whole-number ticks only. */
const FRAME_AXIS = { field: 'frame', type: 'quantitative', title: 'frame', axis: { tickMinStep: 1, format: 'd' } } as const;

const base = { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', width: 520, height: 200 } as const;

function lineChart(values: Rows, y: string, title: string, yTitle: string): TopLevelSpec {
  return {
    ...base, title, data: { values }, mark: { type: 'line', point: values.length <= 60 },
    encoding: { x: FRAME_AXIS, y: { field: y, type: 'quantitative', title: yTitle } },
  } as TopLevelSpec;
}

const esc = (s: unknown): string => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

async function buildReport(trace: string, runId?: number): Promise<string> {
  const { runs } = await traceRun(trace);
  // By default the last run with frames, as the named queries read (a run stopped at once has none).
  const withFrames = (await queryTrace(trace, 'SELECT MAX(run_id) AS id FROM frames'))[0]?.id;
  const id = runId ?? (typeof withFrames === 'number' ? withFrames : Number(runs[runs.length - 1]!.run_id));
  const run = runOf(trace, runs, id);
  const frames = await queryTrace(trace, `SELECT frame, macs, dense_macs, transmissions, messages, energy_pj, latency_ns FROM frames WHERE run_id = ${id} ORDER BY frame`);
  const layers = await queryTrace(trace, `SELECT name, macs_fraction FROM layer_sparsity WHERE run_id = ${id} AND dense_macs > 0 ORDER BY layer_id`);
  const totals = (await queryTrace(trace, `SELECT COUNT(*) AS frames, SUM(macs) AS macs, SUM(dense_macs) AS dense_macs, SUM(energy_pj) AS energy_pj, AVG(latency_ns) AS mean_latency_ns FROM frames WHERE run_id = ${id}`))[0]!;
  const tiles = await tileEnergy(trace, id, Number(totals.energy_pj));
  // SELECT *: a file last written by an evsim before scores were stored has no score columns.
  const row = (await queryTrace(trace, `SELECT * FROM runs WHERE run_id = ${id}`))[0] ?? {};
  const setting = settingsOf(row);
  const score = (k: string): number | null => (typeof row[k] === 'number' ? (row[k] as number) : null);

  const ops = frames.flatMap((f) => [
    { frame: f.frame, kind: setting.dense ? 'MACs done (dense run)' : 'EvNet MACs', value: f.macs },
    { frame: f.frame, kind: 'dense MACs', value: f.dense_macs },
  ]);
  const charts: [string, string][] = [];
  // A chip without costs (ideal) has no energy or time, truenorth's preset no latencies:
  // no charts of zeros, n/a below.
  const timed = frames.some((f) => Number(f.latency_ns) !== 0);
  const costed = frames.some((f) => Number(f.energy_pj) !== 0);
  if (timed) charts.push(['Latency per frame', await svgOf(lineChart(frames, 'latency_ns', 'Frame latency', 'latency (ns)'))]);
  if (costed) charts.push(['Energy per frame', await svgOf(lineChart(frames, 'energy_pj', 'Energy per frame', 'energy (pJ)'))]);
  if (frames.length > 0) charts.push(['Operations vs dense', await svgOf({
    ...base, title: 'MACs per frame: EvNet vs dense', data: { values: ops }, mark: 'line',
    encoding: {
      x: FRAME_AXIS, y: { field: 'value', type: 'quantitative', title: 'MACs' },
      color: { field: 'kind', type: 'nominal', title: null },
    },
  } as TopLevelSpec)]);
  if (layers.length > 0) {
    charts.push(['Layer sparsity', await svgOf({
      ...base, title: 'MACs done / dense MACs per layer', data: { values: layers }, mark: 'bar',
      encoding: { y: { field: 'name', type: 'nominal', sort: null, title: null }, x: { field: 'macs_fraction', type: 'quantitative', title: 'fraction of dense MACs' } },
    } as TopLevelSpec)]);
  }
  if (tiles.length > 0 && costed) {
    charts.push(['Energy per tile', await svgOf({
      $schema: base.$schema, width: 420, height: 420, title: 'Energy per tile of the mesh (all frames; tile (0,0) with the input sensor)', data: { values: tiles }, mark: 'rect',
      encoding: {
        x: { field: 'tile_x', type: 'ordinal', title: 'tile x' }, y: { field: 'tile_y', type: 'ordinal', title: 'tile y' },
        color: { field: 'energy_pj', type: 'quantitative', title: 'pJ', scale: { scheme: 'inferno' } },
        tooltip: [{ field: 'cores' }, { field: 'synops' }, { field: 'energy_pj' }, { field: 'sensor_pj' }],
      },
    } as TopLevelSpec)]);
  }
  // No frames (a run that failed or was stopped at once): no figures, not zeros.
  const none = Number(totals.frames) === 0;
  const na = (what: string): string => (none ? 'n/a (no frames)' : `n/a (the chip has no ${what})`);
  const reduction = setting.dense
    ? 'none (the conventional network itself)'
    : Number(totals.macs) > 0 ? `${(Number(totals.dense_macs) / Number(totals.macs)).toFixed(2)}×` : none ? 'n/a (no frames)' : 'n/a (no MACs)';
  const facts: [string, string][] = [
    ['model', esc(run.model)], ['chip', esc(run.chip)], ['run', esc(setting.what)],
    ...(setting.point ? [['sweep point', esc(setting.point)] as [string, string]] : []),
    ['status', esc(run.status)], ['frames', esc(totals.frames)],
    // As `evsim run` prints them.
    ...(score('accuracy') !== null ? [['accuracy', `${(100 * score('accuracy')!).toFixed(2)} %`] as [string, string]] : []),
    ...(score('max_abs') !== null
      ? [['error vs dense', `max |Δ| ${score('max_abs')!.toExponential(3)}, rel rmse ${score('rel_rmse') === null ? 'n/a (the dense outputs are all 0)' : `${(100 * score('rel_rmse')!).toFixed(2)} %`}`] as [string, string]]
      : []),
    ['ops reduction', reduction], ['energy, all frames', costed ? `${(Number(totals.energy_pj) / 1e6).toFixed(3)} µJ` : na('energy costs')],
    ['mean latency', timed ? `${(Number(totals.mean_latency_ns) / 1000).toFixed(2)} µs` : na('latencies')],
    // The tile chart needs per-core rows, which a summary-level trace (a sweep's default) has not.
    ...(costed && tiles.length === 0 && row.trace_level === 'summary' ? [['energy per tile', 'n/a (trace level summary: no per-core rows; record them with --trace-level cores)'] as [string, string]] : []),
    ['started', esc(run.created_at)],
    ...(run.error ? [['error', esc(run.error)] as [string, string]] : []),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>evsim report — ${esc(run.model)} run ${id}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; } td { padding: 2px 12px 2px 0; }
td:first-child { color: #666; } .charts { display: flex; flex-wrap: wrap; gap: 24px; }
figure { margin: 0; } figcaption { font-weight: 600; margin-bottom: 4px; }
</style></head>
<body>
<h1>evsim run ${id}: ${esc(run.model)} on ${esc(run.chip)}, ${esc(setting.what)}</h1>
<table>${facts.map(([k, v]) => `<tr><td>${k}</td><td>${v}</td></tr>`).join('')}</table>
<div class="charts">
${charts.map(([cap, svg]) => `<figure><figcaption>${esc(cap)}</figcaption>${svg}</figure>`).join('\n')}
</div>
</body></html>
`;
}

/**
 * What a run was, from its runs row: a dense baseline or an EvNet policy with its
 * threshold, from the policy and threshold columns (version 4), else (an older run) its
 * recorded config (a run config's flat keys, or a sweep point's policy object); and a
 * sweep point's number and label, from the config.
 */
function settingsOf(row: Record<string, unknown>): { what: string; dense: boolean; point: string | null } {
  let c: Record<string, unknown> = {};
  try {
    const v: unknown = typeof row.config_json === 'string' ? JSON.parse(row.config_json) : null;
    if (v && typeof v === 'object') c = v as Record<string, unknown>;
  } catch {
    // An unreadable config says nothing.
  }
  const p = (c.policy && typeof c.policy === 'object' ? c.policy : {}) as Record<string, unknown>;
  const own = typeof row.policy === 'string' ? row.policy : null;
  const dense = own !== null ? own === 'dense' : c.dense === true;
  const policy = own ?? (typeof c.policy === 'string' ? c.policy : typeof p.name === 'string' ? p.name : null);
  const h = typeof row.threshold === 'number' ? row.threshold : typeof c.threshold === 'number' ? c.threshold : typeof p.threshold === 'number' ? p.threshold : null;
  const what = dense ? 'the conventional network (--dense)' : policy ? `EvNet, policy ${policy}${h !== null ? `, h = ${h}` : ''}` : 'EvNet';
  const point = typeof c.sweep_point === 'number' ? `${c.sweep_point + 1}${typeof c.label === 'string' ? ` (${c.label})` : ''}` : null;
  return { what, dense, point };
}

/**
 * A run's energy per tile over all its frames (cores level and up). The input sensor sits
 * on tile (0,0) and its messages cost energy too (the run's total less its cores'): it is
 * counted there (`sensor_pj`), so the tiles add up to the run's energy.
 */
export async function tileEnergy(trace: string, id: number, totalPj: number): Promise<Rows> {
  const tiles = await queryTrace(trace, `SELECT tile_x, tile_y, SUM(energy_pj) AS energy_pj, SUM(synops) AS synops, COUNT(*) AS cores FROM core_hotspots WHERE run_id = ${id} GROUP BY tile_x, tile_y`);
  if (tiles.length === 0) return tiles;
  const sensorPj = totalPj - tiles.reduce((a, t) => a + Number(t.energy_pj), 0);
  for (const t of tiles) {
    t.sensor_pj = Number(t.tile_x) === 0 && Number(t.tile_y) === 0 ? sensorPj : 0;
    t.energy_pj = Number(t.energy_pj) + Number(t.sensor_pj);
  }
  return tiles;
}

export async function writeReport(trace: string, out: string, runId?: number): Promise<string> {
  // Named before the trace is read: a missing folder, a folder given as the file.
  assertWritable(out, '--html', 'report.html');
  const html = await buildReport(trace, runId);
  try {
    writeFileSync(out, html);
  } catch (e) {
    throw new EvsimError('BAD_USAGE', `cannot write ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return out;
}
