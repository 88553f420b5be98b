// The logger against the pino configuration it replaced: the same calls through both must write
// the same bytes (times aside), in the JSON form, the readable form and the default library form,
// with the same redaction. The oracle below is the previous src/log/logger.ts, verbatim except that
// its destination is a function instead of a file descriptor.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger, defaultLogger, REDACTED_KEYS, type Logger } from './logger.js';

// createLogger asks fstat whether fd 2 can be a terminal (a character device) before it asks
// process.stderr.isTTY (logger.ts, stderrIsTTY): a simulated terminal must pass both.
const fakeTty = vi.hoisted(() => ({ simulated: false }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const fstatSync = (fd: number, ...rest: unknown[]) => (fd === 2 && fakeTty.simulated ? { isCharacterDevice: () => true } : (fs.fstatSync as (...a: unknown[]) => unknown)(fd, ...rest));
  return { ...fs, default: { ...fs, fstatSync }, fstatSync };
});

const redactPaths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

function oldCreateLogger(opts: { toStdout?: boolean; level?: string }, out: (s: string) => void): Logger {
  const level = opts.level ?? process.env.KINDLING_LOG_LEVEL ?? 'info';
  const pretty = opts.toStdout || process.stderr.isTTY;
  const base = {
    level,
    base: undefined,
    redact: { paths: redactPaths, censor: '[redacted]' },
    timestamp: pretty ? false : pino.stdTimeFunctions.isoTime,
  };
  if (pretty) {
    const dest = { write: out };
    return pino(
      {
        ...base,
        formatters: { level: (label: string) => ({ level: label }) },
      },
      {
        write(line: string) {
          try {
            const rec = JSON.parse(line) as Record<string, unknown>;
            const { level: lvl, msg, stage, ...rest } = rec;
            const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
            dest.write(`${String(lvl).toUpperCase().padEnd(5)} ${stage ? stage + ': ' : ''}${msg ?? ''}${extra}\n`);
          } catch {
            dest.write(line);
          }
        },
      },
    );
  }
  return pino(base, { write: out });
}

// Every shape of call the code base makes, and the ones redaction must get right.
const long = 'x"'.repeat(60);
const CALLS: Array<(l: Logger) => void> = [
  (l) => l.info('plain message'),
  (l) => l.info(''),
  (l) => l.warn('quotes " and backslash \\ and tab\tand newline\n'),
  (l) => l.error('control \u0001 char'),
  (l) => l.info(long),
  (l) => l.info('unicode é ✓ 🔥 and a lone surrogate \ud800 here'),
  (l) => l.debug({ op: 3 }, 'op(3): [started] running sgdisk --zap-all /dev/vda'),
  (l) => l.info({ op: 'file.write', pointer: '/storage/files/0' }, 'files: [started] write /etc/hostname'),
  (l) => l.info({ a: 1, b: true, c: null, d: undefined, e: 'str', f: Number.NaN, g: Number.POSITIVE_INFINITY, h: -0, i: 1.5e300 }, 'scalars'),
  (l) => l.info({ nested: { x: [1, 'two', { three: 3 }] } }),
  (l) => l.info({ msg: 'field msg' }, 'and a message'),
  (l) => l.info({ msg: 'field msg only' }),
  (l) => l.info({ 'odd "key"\\': 1, 'ctl\u0002': 2 }, 'odd keys'),
  // redaction: every key, at every depth pino redacted and one deeper
  ...REDACTED_KEYS.map((k) => (l: Logger) => l.info({ [k]: 'secret-1', other: 1 }, `top ${k}`)),
  ...REDACTED_KEYS.map((k) => (l: Logger) => l.info({ outer: { [k]: 'secret-2', keep: 'k' } }, `depth 2 ${k}`)),
  ...REDACTED_KEYS.map((k) => (l: Logger) => l.info({ outer: { mid: { [k]: 'secret-3', keep: 1 } } }, `depth 3 ${k}`)),
  (l) => l.info({ outer: { mid: { inner: { token: 'not-redacted-by-pino-either' } } } }, 'depth 4'),
  (l) => l.info({ list: [{ token: 's' }, { ok: 1 }, 'str', [{ secret: 'deeper array' }], null] }, 'arrays'),
  (l) => l.info({ outer: { list: [{ token: 'depth 4 through an array' }] } }, 'array at depth 3'),
  (l) => l.info({ token: { deep: 'whole object replaced' }, contents: [1, 2], body: null, secret: 0, keyFile: false }, 'non-string secrets'),
  (l) => l.info({ outer: { token: undefined, contents: null } }, 'undefined and null secrets'),
  (l) => l.info({ token: undefined }, 'an undefined top-level secret is dropped'),
  (l) => l.info({ secret: { token: 'both' }, outer: { secret: { token: 'x' } } }, 'secrets inside secrets'),
  (l) => l.info({ httpHeaders: [{ name: 'Authorization', value: 'Bearer t' }] }, 'headers'),
  (l) => l.info({ headers: [{ name: 'Authorization', value: 'Bearer t' }, { Authorization: 'Bearer u' }] }, 'headers by another name'),
  (l) => l.info({ userData: 'ud', passwordHash: '$6$x', authorization: 'a' }),
  (l) => {
    const c = l.child({ stage: 'files' });
    c.info('from a child');
    c.warn({ op: 1, token: 't' }, 'child with fields');
    const g = c.child({ sub: 'grandchild', secret: 's', nested: { token: 't', keep: 1 }, skipped: undefined });
    g.error('from a grandchild');
    g.info({ stage: 'override' }, 'a field named like a binding');
  },
  (l) => l.child({ token: 'bound secret', level: 'ignored', customLevels: 'ignored' }).info('child bindings are redacted too'),
  (l) => l.child({ 'odd "key"': 1, n: Number.NaN }).info('child bindings escaped'),
  (l) => l.child({ stage: '' }).info('empty stage'),
  (l) => {
    l.trace('trace');
    l.debug('debug');
    l.info('info');
    l.warn('warn');
    l.error('error');
    l.fatal('fatal');
  },
];

const normalise = (lines: string[]): string[] => lines.map((s) => s.replace(/"time":("[^"]*"|\d+)/g, '"time":T'));

function both(makeOld: (out: (s: string) => void) => Logger, makeNew: (out: (s: string) => void) => Logger): [string[], string[]] {
  const a: string[] = [];
  const b: string[] = [];
  const o = makeOld((s) => a.push(s));
  const n = makeNew((s) => b.push(s));
  for (const call of CALLS) {
    call(o);
    call(n);
  }
  return [normalise(a), normalise(b)];
}

describe('logger: byte for byte what the pino configuration wrote', () => {
  let tty: PropertyDescriptor | undefined;
  const savedLevel = process.env.KINDLING_LOG_LEVEL;
  beforeAll(() => {
    // The JSON form is chosen when stderr is not a terminal; pin that for both loggers.
    tty = Object.getOwnPropertyDescriptor(process.stderr, 'isTTY');
    Object.defineProperty(process.stderr, 'isTTY', { value: false, configurable: true, writable: true });
    delete process.env.KINDLING_LOG_LEVEL;
  });
  afterAll(() => {
    if (tty) Object.defineProperty(process.stderr, 'isTTY', tty);
    else delete (process.stderr as { isTTY?: boolean }).isTTY;
    if (savedLevel === undefined) delete process.env.KINDLING_LOG_LEVEL;
    else process.env.KINDLING_LOG_LEVEL = savedLevel;
  });

  for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']) {
    for (const toStdout of [false, true]) {
      it(`${toStdout ? 'readable (-log-to-stdout)' : 'JSON lines'}, level ${level}`, () => {
        const oldLines: string[] = [];
        const newLines: string[] = [];
        const o = oldCreateLogger({ toStdout, level }, (s) => oldLines.push(s));
        const n = createLogger({ toStdout, level }, (s) => newLines.push(s));
        for (const call of CALLS) {
          call(o);
          call(n);
        }
        expect(normalise(newLines)).toEqual(normalise(oldLines));
        if (level === 'trace') {
          expect(newLines.length).toBeGreaterThan(CALLS.length);
          const all = newLines.join('');
          for (const s of ['secret-1', 'secret-2', 'secret-3', 'bound secret', '$6$x']) expect(all).not.toContain(s);
          expect(all).toContain('not-redacted-by-pino-either');
        }
        if (level === 'silent') expect(newLines).toEqual([]);
      });
    }
  }

  it('the level from KINDLING_LOG_LEVEL, and a TTY on stderr choosing the readable form', () => {
    process.env.KINDLING_LOG_LEVEL = 'warn';
    Object.defineProperty(process.stderr, 'isTTY', { value: true, configurable: true, writable: true });
    fakeTty.simulated = true;
    try {
      const [a, b] = both((out) => oldCreateLogger({}, out), (out) => createLogger({}, out));
      expect(b).toEqual(a);
      expect(b.some((l) => l.startsWith('WARN  '))).toBe(true);
    } finally {
      Object.defineProperty(process.stderr, 'isTTY', { value: false, configurable: true, writable: true });
      fakeTty.simulated = false;
      delete process.env.KINDLING_LOG_LEVEL;
    }
  });

  it('an unknown level fails as pino failed', () => {
    const message = 'default level:loud must be included in custom levels';
    expect(() => oldCreateLogger({ level: 'loud' }, () => {})).toThrow(message);
    expect(() => createLogger({ level: 'loud' }, () => {})).toThrow(message);
  });

  it('the default library logger: silent, or pino({ level }) lines (epoch time, pid, hostname, no redaction)', () => {
    for (const level of [undefined, 'debug', 'silent']) {
      if (level === undefined) delete process.env.KINDLING_LOG_LEVEL;
      else process.env.KINDLING_LOG_LEVEL = level;
      const a: string[] = [];
      const b: string[] = [];
      const o = pino({ level: process.env.KINDLING_LOG_LEVEL ?? 'silent' }, { write: (s: string) => a.push(s) });
      const n = defaultLogger((s) => b.push(s));
      for (const call of CALLS) {
        call(o);
        call(n);
      }
      expect(normalise(b)).toEqual(normalise(a));
      if (level === 'debug') expect(b.length).toBeGreaterThan(CALLS.length);
      else expect(b).toEqual([]);
    }
    delete process.env.KINDLING_LOG_LEVEL;
  });

  it('the JSON form carries an ISO time, the readable form none', () => {
    const lines: string[] = [];
    createLogger({ toStdout: false, level: 'info' }, (s) => lines.push(s)).info('x');
    expect(lines[0]).toMatch(/^\{"level":30,"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","msg":"x"\}\n$/);
    lines.length = 0;
    createLogger({ toStdout: true, level: 'info' }, (s) => lines.push(s)).child({ stage: 'fetch' }).info({ op: 1 }, 'y');
    expect(lines).toEqual(['INFO  fetch: y {"op":1}\n']);
  });

  it("does not change the caller's objects while redacting", () => {
    const rec = { secret: { token: 'a' }, outer: { mid: { token: 'b' } }, list: [{ token: 'c' }] };
    const copy = JSON.parse(JSON.stringify(rec)) as unknown;
    createLogger({ level: 'info' }, () => {}).info(rec, 'm');
    expect(rec).toEqual(copy);
  });
});
