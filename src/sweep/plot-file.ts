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
  return isMarkedFor(rootOf(textOf(path)), owner);
}

const isMarkedFor = (root: string, owner: PlotOwner): boolean =>
  root.includes(` data-evsim-sweep="${attr(owner.sweep)}" `) && root.includes(` data-evsim-file="${attr(owner.file)}"`);

/**
 * Removes the plot at `path` if it is `owner`'s; any other file there is left alone. With
 * `unmarked`, also a plot an evsim from before owner marks drew for the sweep (no marks,
 * the sweep's title `name: y vs x`): at the unnamed default path of a file holding this
 * sweep alone, such a plot can only be this sweep's.
 */
export function removeOwnPlot(path: string, owner: PlotOwner, unmarked = false): void {
  const text = textOf(path);
  const root = rootOf(text);
  const legacy = unmarked && root !== '' && !root.includes(' data-evsim-sweep=') && text.includes(`>${attr(owner.sweep)}: `);
  if (isMarkedFor(root, owner) || legacy) rmSync(path, { force: true });
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
