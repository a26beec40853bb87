/** Reading a trace or sweep file in tests (read-only, one statement). */
import sqlite3 from 'sqlite3';

export function query(path: string, sql: string): Promise<Record<string, unknown>[]> {
  return new Promise((res, rej) => {
    const db = new sqlite3.Database(path, sqlite3.OPEN_READONLY, (e) => {
      if (e) return rej(e);
      db.all(sql, (e2, rows) => {
        db.close();
        if (e2) rej(e2);
        else res(rows as Record<string, unknown>[]);
      });
    });
  });
}
