/**
 * Reads a YAML file for a config loader: a missing file or bad YAML becomes a one-line
 * EvsimError naming the file (and the YAML error's position), never a stack trace.
 */
import { readFileSync } from 'node:fs';
import { parseDocument, YAMLError } from 'yaml';
import { EvsimError, whyUnreadable, type ErrorCode } from '../errors.js';
import { protoKeyPath } from './merge.js';

/** `what` names the file's role in messages ("config", "sweep", "chip"). Empty files read as {}. */
export function readYamlFile(path: string, what: string, code: ErrorCode, shownAs: string = path): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new EvsimError(code, `cannot read ${what} ${path}: ${whyUnreadable(e)}; check the path`);
  }
  const firstLine = (e: Error): string =>
    // The parser's first line ends "at line 3, column 1:" before a code excerpt.
    e.message.split('\n')[0]!.replace(/ at line (\d+), column (\d+):?$/, ' (line $1, column $2)');
  try {
    const doc = parseDocument(text);
    // A warning (an unknown tag such as !foo) is refused too: the value would be read as something else.
    const bad = doc.errors[0] ?? doc.warnings[0];
    if (bad) throw bad;
    const js: unknown = doc.toJS() ?? {};
    const proto = protoKeyPath(js);
    if (proto !== null) throw new EvsimError(code, `${shownAs}: ${proto}: '__proto__' is not a key evsim reads; remove it`);
    return js;
  } catch (e) {
    if (e instanceof EvsimError) throw e;
    const msg = e instanceof YAMLError ? firstLine(e) : (e as Error).message;
    throw new EvsimError(code, `${shownAs}: invalid YAML: ${msg}`);
  }
}
