// Runs the two judges over many configs: Debian's ignition-validate (Ignition 2.14) and Kindling
// (in-process through parseConfig for all cases, the built binary on a sample).
// ignition-validate verdicts are cached by text hash under .cache/, so a re-run costs nothing for
// unchanged cases; the cache key includes the binary's version line.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const IGNITION_VALIDATE = process.env.IGNITION_VALIDATE ?? '/usr/bin/ignition-validate';

export interface Verdict {
  valid: boolean;
  /** What the tool printed (first lines), for the report. */
  output: string;
}

function run(bin: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, output: (stdout + stderr).slice(0, 4000) });
    });
  });
}

/** Runs `bin args... FILE` for every text, `concurrency` at a time. */
export async function judgeFiles(bin: string, preArgs: string[], texts: string[], concurrency = 2): Promise<Verdict[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kindling-diff-'));
  try {
    const out: Verdict[] = new Array(texts.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < texts.length) {
        const i = next++;
        const file = join(dir, `${i}.ign`);
        writeFileSync(file, texts[i]);
        const { code, output } = await run(bin, [...preArgs, file]);
        out[i] = { valid: code === 0, output: output.split(file).join('CONFIG') };
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** ignition-validate's verdicts, through the cache. */
export async function ignitionVerdicts(texts: string[], cacheFile: string): Promise<Verdict[]> {
  const version = execFileSync(IGNITION_VALIDATE, ['-version'], { encoding: 'utf8' }).trim();
  const key = (t: string): string => createHash('sha256').update(version).update('\0v2\0').update(t).digest('hex').slice(0, 32);
  let cache: Record<string, Verdict> = {};
  if (existsSync(cacheFile)) {
    try {
      cache = JSON.parse(readFileSync(cacheFile, 'utf8')) as Record<string, Verdict>;
    } catch {
      cache = {};
    }
  }
  const missing = [...new Set(texts.filter((t) => cache[key(t)] === undefined))];
  if (missing.length) {
    const verdicts = await judgeFiles(IGNITION_VALIDATE, [], missing, 2);
    missing.forEach((t, i) => (cache[key(t)] = verdicts[i]));
    mkdirSync(join(cacheFile, '..'), { recursive: true });
    writeFileSync(cacheFile, JSON.stringify(cache));
  }
  return texts.map((t) => cache[key(t)]);
}
