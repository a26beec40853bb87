/** The package version, recorded with every traced run. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | null = null;

export function evsimVersion(): string {
  if (cached) return cached;
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/src/version.js or src/version.ts
  for (const up of [['..', '..'], ['..']]) {
    const pkg = join(here, ...up, 'package.json');
    if (!existsSync(pkg)) continue;
    try {
      const j = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string; version?: string };
      if (j.name === 'evsim' && j.version) return (cached = j.version);
    } catch {
      // keep looking
    }
  }
  return (cached = 'unknown');
}
