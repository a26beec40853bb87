/**
 * The trace schema (DESIGN §7): units in column names, several runs per file, views
 * for the common questions. Bump SCHEMA_VERSION with any change.
 */

export const SCHEMA_VERSION = 4;

/** A run whose heartbeat is older than this while `running` is shown as stale. */
const STALE_AFTER_S = 30;

/**
 * Whether run `r` is a dense run: its policy column (`policy`: r.policy, or the
 * {runs.policy} placeholder of a named query), else what its recorded config says (a
 * run written before version 3; a CLI or sweep config has `dense`).
 */
const denseRun = (policy: string): string => `COALESCE(${policy} = 'dense', json_extract(r.config_json, '$.dense'))`;

/**
 * Columns later versions added, declared once for the schema below and for upgrading an
 * older file to it (NULL, or 0, in its existing rows).
 */
export const ADDED_COLUMNS = {
  /** Version 2: shadow-row work. */
  core_frames: ['halo_synops INTEGER NOT NULL DEFAULT 0', 'halo_updates INTEGER NOT NULL DEFAULT 0'],
  /** Version 3: the scores; version 4: what ran. */
  runs: ['policy TEXT', 'threshold REAL', 'accuracy REAL', 'rel_rmse REAL', 'max_abs REAL'],
} as const;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  run_id INTEGER PRIMARY KEY,
  created_at TEXT NOT NULL,
  ended_at TEXT,
  heartbeat_at TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
  error TEXT,
  evsim_version TEXT NOT NULL,
  model TEXT NOT NULL,
  model_hash TEXT NOT NULL,
  chip TEXT NOT NULL,
  trace_level TEXT NOT NULL,
  frames_planned INTEGER NOT NULL,
  config_json TEXT NOT NULL,
  ${ADDED_COLUMNS.runs.join(',\n  ')}
);
CREATE TABLE IF NOT EXISTS layers (
  run_id INTEGER NOT NULL REFERENCES runs(run_id),
  layer_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  op TEXT NOT NULL,
  kind TEXT NOT NULL,
  shape TEXT NOT NULL,
  dense_macs INTEGER NOT NULL,
  weight_bytes INTEGER NOT NULL,
  state_bytes INTEGER NOT NULL,
  PRIMARY KEY (run_id, layer_id)
);
CREATE TABLE IF NOT EXISTS cores (
  run_id INTEGER NOT NULL REFERENCES runs(run_id),
  core_id INTEGER NOT NULL,
  tile_x INTEGER NOT NULL,
  tile_y INTEGER NOT NULL,
  layer_id INTEGER NOT NULL,
  neurons INTEGER NOT NULL,
  synapse_bytes INTEGER NOT NULL,
  PRIMARY KEY (run_id, core_id)
);
CREATE TABLE IF NOT EXISTS frames (
  run_id INTEGER NOT NULL REFERENCES runs(run_id),
  frame INTEGER NOT NULL,
  macs INTEGER NOT NULL,
  dense_macs INTEGER NOT NULL,
  adds INTEGER NOT NULL,
  transmissions INTEGER NOT NULL,
  messages INTEGER NOT NULL,
  hops INTEGER NOT NULL,
  synops INTEGER NOT NULL,
  energy_pj REAL NOT NULL,
  latency_ns REAL NOT NULL,
  PRIMARY KEY (run_id, frame)
);
CREATE TABLE IF NOT EXISTS layer_frames (
  run_id INTEGER NOT NULL,
  frame INTEGER NOT NULL,
  layer_id INTEGER NOT NULL,
  macs INTEGER NOT NULL,
  adds INTEGER NOT NULL,
  updates INTEGER NOT NULL,
  transmissions INTEGER NOT NULL,
  PRIMARY KEY (run_id, frame, layer_id)
);
CREATE TABLE IF NOT EXISTS core_frames (
  run_id INTEGER NOT NULL,
  frame INTEGER NOT NULL,
  core_id INTEGER NOT NULL,
  messages_in INTEGER NOT NULL,
  synops INTEGER NOT NULL,
  neuron_updates INTEGER NOT NULL,
  messages_out INTEGER NOT NULL,
  busy_ns REAL NOT NULL,
  stall_ns REAL NOT NULL,
  queue_max INTEGER NOT NULL,
  energy_pj REAL NOT NULL,
  end_ns REAL NOT NULL,
  ${ADDED_COLUMNS.core_frames.join(',\n  ')},
  PRIMARY KEY (run_id, frame, core_id)
);
CREATE TABLE IF NOT EXISTS events (
  run_id INTEGER NOT NULL,
  frame INTEGER NOT NULL,
  t_ns REAL NOT NULL,
  src_core INTEGER NOT NULL,
  dst_core INTEGER NOT NULL,
  neuron INTEGER NOT NULL,
  value REAL NOT NULL,
  hops INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS layer_frames_by_layer ON layer_frames (run_id, layer_id);
CREATE INDEX IF NOT EXISTS core_frames_by_core ON core_frames (run_id, core_id);
CREATE INDEX IF NOT EXISTS events_by_frame ON events (run_id, frame);
CREATE VIEW IF NOT EXISTS run_status AS
  SELECT run_id, model, chip, created_at, ended_at, heartbeat_at,
         CASE WHEN status = 'running' AND (julianday('now') - julianday(heartbeat_at)) * 86400 > ${STALE_AFTER_S}
              THEN 'stale' ELSE status END AS status,
         (SELECT COUNT(*) FROM frames f WHERE f.run_id = runs.run_id) AS frames_done, frames_planned, error
  FROM runs;
CREATE VIEW IF NOT EXISTS frame_summary AS
  SELECT f.run_id, f.frame, f.macs, f.dense_macs,
         CASE WHEN ${denseRun('r.policy')} THEN 1.0
              WHEN f.macs > 0 THEN CAST(f.dense_macs AS REAL) / f.macs ELSE NULL END AS ops_reduction,
         f.transmissions, f.messages, f.hops, f.synops, f.energy_pj, f.latency_ns
  FROM frames f LEFT JOIN runs r USING (run_id);
CREATE VIEW IF NOT EXISTS core_hotspots AS
  SELECT cf.run_id, cf.core_id, c.tile_x, c.tile_y, l.name AS layer,
         SUM(cf.synops) AS synops, SUM(cf.messages_in) AS messages_in, SUM(cf.messages_out) AS messages_out,
         SUM(cf.busy_ns) AS busy_ns, SUM(cf.stall_ns) AS stall_ns, MAX(cf.queue_max) AS queue_max, SUM(cf.energy_pj) AS energy_pj
  FROM core_frames cf
  JOIN cores c ON c.run_id = cf.run_id AND c.core_id = cf.core_id
  LEFT JOIN layers l ON l.run_id = c.run_id AND l.layer_id = c.layer_id
  GROUP BY cf.run_id, cf.core_id;
CREATE VIEW IF NOT EXISTS layer_sparsity AS
  SELECT lf.run_id, lf.layer_id, l.name, l.op,
         SUM(lf.macs) AS macs, l.dense_macs * COUNT(*) AS dense_macs,
         CASE WHEN l.dense_macs > 0 THEN CAST(SUM(lf.macs) AS REAL) / (l.dense_macs * COUNT(*)) ELSE NULL END AS macs_fraction,
         SUM(lf.updates) AS updates, SUM(lf.transmissions) AS transmissions
  FROM layer_frames lf
  JOIN layers l ON l.run_id = lf.run_id AND l.layer_id = lf.layer_id
  GROUP BY lf.run_id, lf.layer_id;
`;

/**
 * Ready-made queries for `evsim query --named`. `{runs.X}` stands for column X of runs
 * (as r), which a file last written by an older evsim may lack (see namedQuery).
 * `{run}` stands for the run they read:
 * `--run N`, else the last run with rows in `last` (a trace holding a dense baseline at
 * level summary after a traced EvNet run still answers per-core queries for the EvNet).
 */
export const NAMED_QUERIES: Record<string, { description: string; sql: string; last?: string }> = {
  runs: {
    description: 'every run in the file with its status (stale = died while running), policy and threshold or dense, accuracy and error vs dense',
    // A run config holds policy and threshold flat, a sweep point under policy.
    // Older runs have no policy column: their config says it.
    sql: `SELECT s.*,
            CASE WHEN ${denseRun('{runs.policy}')} THEN 'dense'
                 WHEN {runs.policy} IS NOT NULL THEN {runs.policy}
                 WHEN json_type(r.config_json, '$.policy') = 'object' THEN json_extract(r.config_json, '$.policy.name')
                 ELSE json_extract(r.config_json, '$.policy') END AS policy,
            CASE WHEN ${denseRun('{runs.policy}')} THEN NULL
                 ELSE COALESCE({runs.threshold}, json_extract(r.config_json, '$.threshold'), json_extract(r.config_json, '$.policy.threshold')) END AS threshold,
            {runs.accuracy} AS accuracy, {runs.rel_rmse} AS rel_rmse
          FROM run_status s JOIN runs r USING (run_id) ORDER BY run_id`,
  },
  frames: { description: 'per-frame ops, ops reduction, energy and latency of the last run', sql: 'SELECT * FROM frame_summary WHERE run_id = {run} ORDER BY frame', last: 'frames' },
  'hot-cores': { description: 'the 10 cores with the most synaptic work in the last run with per-core rows', sql: 'SELECT * FROM core_hotspots WHERE run_id = {run} ORDER BY synops DESC LIMIT 10', last: 'core_frames' },
  'layer-sparsity': { description: 'MACs done vs dense per layer in the last run', sql: 'SELECT * FROM layer_sparsity WHERE run_id = {run} AND dense_macs > 0 ORDER BY layer_id', last: 'layer_frames' },
  'energy-by-layer': {
    description: 'energy per layer (sum over its cores) in the last run with per-core rows',
    sql: `SELECT l.name AS layer, COUNT(DISTINCT c.core_id) AS cores, SUM(cf.energy_pj) AS energy_pj, SUM(cf.synops) AS synops
          FROM core_frames cf JOIN cores c USING (run_id, core_id) JOIN layers l ON l.run_id = c.run_id AND l.layer_id = c.layer_id
          WHERE cf.run_id = {run} GROUP BY l.layer_id ORDER BY energy_pj DESC`,
    last: 'core_frames',
  },
  'sweep-points': {
    description: "(sweep files) every point of each sweep's current grid: parameters, status, accuracy/error, MACs, energy, latency",
    sql: `SELECT sweep, idx + 1 AS point, label, status, accuracy, rel_rmse, macs, energy_pj, latency_ns, cores, error
          FROM sweep_points WHERE current = 1 ORDER BY sweep, idx`,
  },
  totals: {
    description: 'totals per run: frames, MACs, ops reduction, energy, mean latency',
    // A --dense run is the baseline: no reduction (its exact MACs skip padding taps that dense_macs counts).
    sql: `SELECT f.run_id, COUNT(*) AS frames, SUM(f.macs) AS macs, SUM(f.dense_macs) AS dense_macs,
          CASE WHEN ${denseRun('{runs.policy}')} THEN 1.0
               WHEN SUM(f.macs) > 0 THEN CAST(SUM(f.dense_macs) AS REAL) / SUM(f.macs) ELSE NULL END AS ops_reduction,
          SUM(f.energy_pj) AS energy_pj, AVG(f.latency_ns) AS mean_latency_ns
          FROM frames f LEFT JOIN runs r USING (run_id) GROUP BY f.run_id ORDER BY f.run_id`,
  },
};
