#!/usr/bin/env node
/**
 * npm run check:report — renders an evsim HTML report in headless Chromium (Debian's
 * `chromium`), takes a screenshot and checks that the charts rendered: the rendered DOM
 * holds the SVG charts and Chromium logged no console error. Skips (exit 0, saying so)
 * when Chromium is not installed, so CI does not need it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (!chromium) {
  console.log('check:report: skipped — Chromium is not installed (apt-get install chromium to run this check)');
  process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), 'evsim-report-'));
const trace = join(dir, 't.sqlite');
const html = join(dir, 'report.html');
const png = join(root, 'traces', 'report-check.png');
const fx = join(root, 'test', 'fixtures', 'onnx');
const run = (args) => {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`check:report: evsim ${args[0]} failed: ${r.stderr.trim()}`);
    process.exit(1);
  }
};
run(['run', '--model', join(fx, 'resnet_block.onnx'), '--frames', join(fx, 'resnet_block.input.npy'), '--trace', trace, '--quiet']);
run(['report', trace, '--html', html]);
const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', `--user-data-dir=${join(dir, 'profile')}`, '--enable-logging=stderr', '--v=0'];
const shot = spawnSync(chromium, [...flags, '--window-size=1280,1600', `--screenshot=${png}`, `file://${html}`], { encoding: 'utf8', timeout: 60_000 });
const dom = spawnSync(chromium, [...flags, '--dump-dom', `file://${html}`], { encoding: 'utf8', timeout: 60_000 });
const problems = [];
if (!existsSync(png) || readFileSync(png).length < 10_000) problems.push('no screenshot was written');
const svgs = (dom.stdout.match(/<svg/g) ?? []).length;
if (svgs < 4) problems.push(`the rendered page holds ${svgs} SVG charts, expected at least 4`);
if ((dom.stdout.match(/<path/g) ?? []).length < 10) problems.push('the charts have no drawn paths');
const consoleErrors = `${shot.stderr}\n${dom.stderr}`.split('\n').filter((l) => /CONSOLE.*(error|Uncaught)|Uncaught /i.test(l));
if (consoleErrors.length > 0) problems.push(`console errors: ${consoleErrors.join(' | ')}`);
if (problems.length > 0) {
  console.error(`check:report: FAILED — ${problems.join('; ')}`);
  process.exit(1);
}
console.log(`check:report: ok — ${svgs} SVG charts rendered, no console errors; screenshot ${png}`);
