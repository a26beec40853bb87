/**
 * Query results as text, a batch at a time (format-rows.ts): CSV as RFC 4180 reads it,
 * tables on one line a row, JSON in the statement's column order.
 */
import { describe, expect, it } from 'vitest';
import { formatRows, rowFormatter } from '../../src/trace/format-rows.js';
import { parseCsv } from './parse-csv.js';

describe('CSV', () => {
  it('quotes a field holding a carriage return (was written bare, so a reader split the record there)', () => {
    const text = formatRows([{ v: 'a\rb', w: 'c\r\nd', n: 1 }], 'csv');
    expect(text).toBe('v,w,n\n"a\rb","c\r\nd",1');
    expect(parseCsv(text)).toEqual([['v', 'w', 'n'], ['a\rb', 'c\r\nd', '1']]);
  });

  it('an empty result is its header line (was 0 bytes)', () => {
    expect(formatRows([], 'csv', ['run_id', 'frame'])).toBe('run_id,frame');
    const f = rowFormatter('csv', ['a']);
    expect(f.push([]) + f.end()).toBe('a\n');
  });

  it('batches join into the text of one batch', () => {
    const f = rowFormatter('csv', ['k', 'v']);
    const text = f.push([[1, 'x,y']]) + f.push([[2, 'say "hi"']]) + f.end();
    expect(parseCsv(text)).toEqual([['k', 'v'], ['1', 'x,y'], ['2', 'say "hi"']]);
  });
});

describe('table', () => {
  it('shows a line break inside a cell escaped, one line a row (was: the row broke the layout)', () => {
    const lines = formatRows([{ v: 'x\ny', w: 'a\rb' }], 'table').split('\n');
    expect(lines).toEqual(['v     w', '----  ----', 'x\\ny  a\\rb']);
  });

  it('sizes its columns from the first rows only; a later wider cell runs past, nothing re-aligns', () => {
    // Widths from the first 2 rows: max('v', '1', '22') = 2; numbers only, so right-aligned.
    const f = rowFormatter('table', ['v'], 2);
    expect(f.push([[1]])).toBe('');
    expect(f.push([[22], [333]]) + f.end()).toBe(' v\n--\n 1\n22\n333\n');
  });

  it('a result shorter than the sizing rows prints at its end; no rows says so', () => {
    const f = rowFormatter('table', ['name'], 1000);
    expect(f.push([['ab']])).toBe('');
    expect(f.end()).toBe('name\n----\nab\n');
    expect(formatRows([], 'table', ['a'])).toBe('(no rows)');
  });
});

describe('column order', () => {
  it("follows the statement, not the row object's key order (which puts \"100\" before run_id)", () => {
    const row = { run_id: 1, 100: 100 };
    expect(Object.keys(row)).toEqual(['100', 'run_id']); // why columns must be given
    expect(formatRows([row], 'csv', ['run_id', '100'])).toBe('run_id,100\n1,100');
    const json = formatRows([row], 'json', ['run_id', '100']);
    expect(json.indexOf('"run_id"')).toBeLessThan(json.indexOf('"100"'));
    expect(JSON.parse(json)).toEqual([{ run_id: 1, 100: 100 }]);
    expect(formatRows([row], 'table', ['run_id', '100']).split('\n')[0]).toBe('run_id  100');
  });
});

describe('JSON', () => {
  it('streamed, it is the text JSON.stringify(rows, null, 2) writes', () => {
    const rows = [{ a: 1, b: 'x' }, { a: null, b: 'y\n"z"' }];
    const f = rowFormatter('json', ['a', 'b']);
    expect(f.push([[1, 'x']]) + f.push([[null, 'y\n"z"']]) + f.end()).toBe(`${JSON.stringify(rows, null, 2)}\n`);
    const empty = rowFormatter('json', ['a']);
    expect(empty.push([]) + empty.end()).toBe('[]\n');
  });
});
