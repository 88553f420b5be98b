// `kindling validate FILE|-` : ignition-validate's job. Prints every entry the way
// ignition-validate does ("error at $.storage.files.0.mode, line 5 col 12: illegal file mode"),
// exit 0 when the config is usable (warnings allowed), 1 when it is not.
// `--json` prints one JSON object instead: {"valid", "version", "entries": [...]}.
// Only the config engine is loaded here: no HTTP stack, no process runner, so it starts fast.
import { readFileSync } from 'node:fs';
import { KindlingError, type ReportEntry } from '../errors.js';
import { parseConfigAsync } from '../config/index.js';

const USAGE = 'Usage: kindling validate [--json] CONFIG|-\n';

/** "/storage/files/0/mode" -> "$.storage.files.0.mode" */
export function pointerToDollar(pointer: string): string {
  if (pointer === '') return '$';
  return '$' + pointer.split('/').slice(1).map((p) => '.' + p.replace(/~1/g, '/').replace(/~0/g, '~')).join('');
}

/**
 * One line as ignition-validate prints it. Its JSON decoding errors carry no config path (only a
 * line and column), so those print without one too; --json keeps the pointer.
 */
export function formatEntry(e: ReportEntry): string {
  const loc = e.location;
  const parts: string[] = [];
  if (loc && loc.pointer !== '' && !e.message.startsWith('json: cannot unmarshal')) parts.push(pointerToDollar(loc.pointer));
  if (loc?.line !== undefined) parts.push(`line ${loc.line} col ${loc.column ?? 0}`);
  return parts.length > 0 ? `${e.kind} at ${parts.join(', ')}: ${e.message}` : `${e.kind}: ${e.message}`;
}

export async function runValidate(argv: string[]): Promise<number> {
  let json = false;
  const files: string[] = [];
  for (const arg of argv) {
    if (arg === '--json' || arg === '-json') json = true;
    else if (arg === '-h' || arg === '--help' || arg === '-help') {
      process.stdout.write(USAGE);
      return 0;
    } else if (arg.startsWith('-') && arg !== '-') throw new KindlingError('usage', `unknown option ${arg}\n${USAGE}`);
    else files.push(arg);
  }
  if (files.length !== 1) throw new KindlingError('usage', `validate takes exactly one config file (or - for stdin)\n${USAGE}`);
  const file = files[0];
  let text: Buffer;
  try {
    text = readFileSync(file === '-' ? 0 : file);
  } catch (err) {
    throw new KindlingError('usage', `cannot read ${file === '-' ? 'standard input' : file}: ${(err as Error).message}`);
  }

  let entries: ReportEntry[];
  let valid: boolean;
  let version: string | undefined;
  let problem: string | undefined;
  try {
    const res = await parseConfigAsync(text);
    entries = res.report;
    valid = true;
    version = res.sourceVersion;
  } catch (err) {
    if (!(err instanceof KindlingError) || !err.kind.startsWith('config')) throw err;
    entries = err.entries;
    valid = false;
    // Like ignition-validate: with no detailed entries, the top-level reason is the message.
    if (entries.length === 0) problem = err.message;
  }

  if (json) {
    process.stdout.write(JSON.stringify({ valid, version, error: problem, entries }, null, 2) + '\n');
  } else {
    for (const e of entries) process.stdout.write(formatEntry(e) + '\n');
    if (problem) process.stderr.write(`couldn't parse config: ${problem}\n`);
  }
  return valid ? 0 : 1;
}
