/**
 * Reads a YAML file for a config loader: a missing file or bad YAML becomes a one-line
 * EvsimError naming the file (and the YAML error's position), never a stack trace.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { EvsimError, type ErrorCode } from '../errors.js';

/** `what` names the file's role in messages ("config", "sweep", "chip"). Empty files read as {}. */
export function readYamlFile(path: string, what: string, code: ErrorCode, shownAs: string = path): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new EvsimError(code, `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return parseYaml(text) ?? {};
  } catch (e) {
    // The parser's first line ends "at line 3, column 1:" before a code excerpt.
    const msg = e instanceof YAMLParseError ? e.message.split('\n')[0]!.replace(/ at line (\d+), column (\d+):?$/, ' (line $1, column $2)') : (e as Error).message;
    throw new EvsimError(code, `${shownAs}: invalid YAML: ${msg}`);
  }
}
