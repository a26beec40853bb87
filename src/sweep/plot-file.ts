/**
 * Where a sweep's Pareto plot goes by default, and whose a plot file is. Several sweeps
 * may share one SQLite file; each must keep its own plot, and none may remove another's
 * (a sweep with nothing to draw removes its own earlier plot only, so it does not show a
 * front the sweep no longer has). A plot carries its sweep and file on its root element.
 * Kept apart from plot.ts, which loads Vega.
 */
import { readFileSync, rmSync } from 'node:fs';

/** The sweep a plot was drawn for: its name and its SQLite file (resolved path). */
export interface PlotOwner {
  sweep: string;
  file: string;
}

/**
 * The default plot path beside the sweep file `out`: `<out without .sqlite>.pareto.svg`
 * while the file holds this sweep only, `<…>.<name>.pareto.svg` once it holds others too.
 */
export function defaultPlotPath(out: string, name: string, shared: boolean): string {
  const stem = out.replace(/\.sqlite$|\.db$/, '');
  return shared ? `${stem}.${name}.pareto.svg` : `${stem}.pareto.svg`;
}

const attr = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The drawing with its owner on the root element (data- attributes, which renderers ignore). */
export function markPlot(svg: string, owner: PlotOwner): string {
  return svg.replace(/^<svg\b/, `<svg data-evsim-sweep="${attr(owner.sweep)}" data-evsim-file="${attr(owner.file)}"`);
}

/** Whether the file at `path` is a plot drawn for `owner` (false when it is missing, unreadable or anyone else's). */
export function isPlotOf(path: string, owner: PlotOwner): boolean {
  const root = rootOf(textOf(path));
  return root.includes(` data-evsim-sweep="${attr(owner.sweep)}" `) && root.includes(` data-evsim-file="${attr(owner.file)}"`);
}

/** Removes the plot at `path` if it is `owner`'s; any other file there is left alone. */
export function removeOwnPlot(path: string, owner: PlotOwner): void {
  if (isPlotOf(path, owner)) rmSync(path, { force: true });
}

/**
 * Whether the file at `path` is a plot an evsim from before owner marks drew for sweep
 * `name`: unmarked, with the sweep's title (`name: y vs x`). Such a plot at the unnamed
 * default path of a file holding this sweep alone can only be this sweep's.
 */
export function isUnmarkedPlotOf(path: string, name: string): boolean {
  const text = textOf(path);
  const root = rootOf(text);
  return root !== '' && !root.includes(' data-evsim-sweep=') && text.includes(`>${attr(name)}: `);
}

/** A file's text ('' when it is missing or unreadable). */
function textOf(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** An SVG's root tag ('' when the text is no SVG). */
const rootOf = (text: string): string => /^<svg\b[^>]*>/.exec(text)?.[0] ?? '';
