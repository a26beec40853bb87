/**
 * `evsim query`'s output: rows printed as they are read, at the pace stdout takes them
 * (a full pipe holds the reading back), so a result of millions of rows prints in
 * bounded memory, and a reader that stops early (`| head`) stops the query.
 */
import { fstatSync } from 'node:fs';
import { streamQuery } from '../trace/query.js';
import { rowFormatter, type QueryFormat, type RowFormatter } from '../trace/format-rows.js';

/**
 * A writer to `out` at the pace it takes text: each call waits while the stream's buffer
 * is full, and says false once the stream has closed (a pipe whose reader has gone; main's
 * quietOnClosedPipe drops the EPIPE). process.stdout never reads as destroyed, so its
 * 'close' is watched.
 */
export function pacedWriter(out: NodeJS.WritableStream): (text: string) => Promise<boolean> {
  let closed = false;
  out.once('close', () => {
    closed = true;
  });
  return async (text) => {
    if (closed) return false;
    if (text !== '' && !out.write(text)) {
      await new Promise<void>((res) => {
        const done = (): void => {
          out.off('drain', done);
          out.off('close', done);
          res();
        };
        out.on('drain', done);
        out.on('close', done);
      });
    }
    return !closed;
  };
}

/** Whether `out` is a regular file (read to the end anyway, so a result may be materialized first; see streamQuery). */
function toFile(out: NodeJS.WritableStream): boolean {
  const fd = (out as { fd?: unknown }).fd;
  try {
    return typeof fd === 'number' && fstatSync(fd).isFile();
  } catch {
    return false;
  }
}

/** Prints one reading statement's result over a trace to `out`, as it is read. */
export async function printQuery(trace: string, sql: string, format: QueryFormat, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const put = pacedWriter(out);
  let text: RowFormatter | null = null;
  let open = true;
  await streamQuery(trace, sql, {
    columns: (names) => {
      text = rowFormatter(format, names);
    },
    rows: async (batch) => (open = await put(text!.push(batch))),
  }, { materialize: toFile(out) });
  if (open && text) await put((text as RowFormatter).end());
}
