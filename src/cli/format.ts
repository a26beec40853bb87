/** Plain-text formatting for the CLI: numbers, bytes and aligned tables. */
import { availableParallelism } from 'node:os';

/** A note when more worker threads are asked for than the machine has CPUs (and more than 2), else null. */
export function workersNote(workers: number | undefined, cpus = availableParallelism()): string | null {
  if (workers === undefined || workers <= Math.max(2, cpus)) return null;
  return `note: --workers ${workers} on ${cpus} CPU${cpus === 1 ? '' : 's'}: the results are the same, but each worker is a thread with its own copy of the simulator, so more than ${cpus} only add time and memory`;
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A number with an SI prefix, to `digits` significant digits (integers below 1000 in full). */
export function fmtSi(n: number, digits = 3): string {
  // The value as rounded, prefix and digits both (999.7 to 3 digits is 1.00 k, was
  // "1.00e+3"; rounding the quotient instead could pick another prefix than the value's).
  const r = Number(n.toPrecision(digits));
  const a = Math.abs(r);
  if (a >= 1e12) return `${(r / 1e12).toPrecision(digits)} T`;
  if (a >= 1e9) return `${(r / 1e9).toPrecision(digits)} G`;
  if (a >= 1e6) return `${(r / 1e6).toPrecision(digits)} M`;
  if (a >= 1e3) return `${(r / 1e3).toPrecision(digits)} k`;
  return n === Math.round(n) ? String(n) : n.toPrecision(digits);
}

/**
 * The fewest significant digits (3 to 10) at which `format` writes distinct values
 * distinctly, so a table never shows two different figures as the same one.
 */
export function distinctDigits(values: readonly number[], format: (v: number, digits: number) => string): number {
  // Values alike to 10 digits are the same but for rounding (as the Pareto front takes
  // them): at `d` digits, values must read alike exactly when they are alike to 10 (the
  // groups compared, not only their number: two counts can match with the wrong values
  // read alike).
  const key = values.map((v) => Number(v.toPrecision(10)));
  const fits = (d: number): boolean => {
    const text = new Map<number, string>();
    const owner = new Map<string, number>();
    return values.every((v, i) => {
      const t = format(v, d);
      const k = key[i]!;
      if ((text.get(k) ?? t) !== t || (owner.get(t) ?? k) !== k) return false;
      text.set(k, t);
      owner.set(t, k);
      return true;
    });
  };
  for (let d = 3; d < 10; d++) if (fits(d)) return d;
  return 10;
}

/** A duration in seconds as 42 s, 3 min 05 s or 2 h 07 min. */
export function fmtDuration(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

export function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(2)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

export function fmtPct(x: number): string {
  return `${(100 * x).toFixed(2)} %`;
}

/** Renders rows as an aligned text table; numeric-looking cells are right-aligned. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => /^[-+\d.,e%× GMkTKiB]*$/.test(String(r[c] ?? ''))));
  const line = (r: string[]): string =>
    r.map((v, c) => (numeric[c] ? v.padStart(widths[c]!) : v.padEnd(widths[c]!))).join('  ').trimEnd();
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}
