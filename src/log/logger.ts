// The one logger. JSON lines on stderr by default (what journald and the initrd console collect);
// a readable one-line form on stdout with -log-to-stdout or when stderr is a TTY.
// Redaction lives here and only here, so secrets cannot leak through a forgotten call site:
// any field with one of the REDACTED_KEYS names is replaced, at the depths listed below.
//
// This used to be pino. In the initrd every stage is a fresh process, and loading pino (its
// transport machinery pulls in thread-stream and worker_threads, plus sonic-boom, the redaction and
// serializer packages) cost about 20 ms of CPU and 8 MB of RSS per start, more than the stage's own
// work. This file writes byte for byte what the pino configuration it replaces wrote — the same
// level numbers or labels, time formats, key order, escaping and redaction — and
// src/log/logger.test.ts checks that against pino itself, which stays a dependency for tests and
// callers that hand in a pino logger (any pino.Logger satisfies the Logger interface below).
import { fstatSync, readFileSync, writeSync } from 'node:fs';

export const REDACTED_KEYS = [
  'passwordHash',
  'contents',
  'token',
  'authorization',
  'Authorization',
  'httpHeaders',
  'keyFile',
  'secret',
  'userData',
  'body',
];

/** What a log record's fields may hold: JSON data (no Errors, functions, bigints or cycles). */
export type LogValue = string | number | boolean | null | undefined | LogValue[] | { [key: string]: LogValue };
/**
 * A record's fields or a child's bindings. `err` is excluded: pino gave it a serializer of its own
 * (Error-like values), which nothing here needs and this logger does not reproduce.
 */
export type LogFields = { [key: string]: LogValue } & { err?: never };

export interface LogFn {
  (msg: string): void;
  (fields: LogFields, msg?: string): void;
}

export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  /** A logger whose records all carry `bindings` (e.g. { stage: 'files' }) before their own fields. */
  child(bindings: LogFields): Logger;
}

export interface LoggerOptions {
  toStdout?: boolean;
  level?: string;
  /** Write here instead of stdout/stderr (the stage server hands each stage its client's pipe). */
  fd?: number;
}

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
type LevelName = keyof typeof LEVELS;

const CENSOR = '"[redacted]"';
const REDACTED = new Set(REDACTED_KEYS);

// pino's string escaping (lib/tools.js asString): JSON.stringify for long strings or any control
// character, otherwise only `"` and `\` are escaped. (It differs from JSON.stringify for lone
// surrogates in short strings, which it leaves as they are.)
function asString(str: string): string {
  let result = '';
  let last = 0;
  let found = false;
  let point = 255;
  const l = str.length;
  if (l > 100) return JSON.stringify(str);
  for (let i = 0; i < l && point >= 32; i++) {
    point = str.charCodeAt(i);
    if (point === 34 || point === 92) {
      result += str.slice(last, i) + '\\';
      last = i;
      found = true;
    }
  }
  result = found ? result + str.slice(last) : str;
  return point < 32 ? JSON.stringify(str) : '"' + result + '"';
}

// JSON.stringify, with pino's fallback when that throws (a cycle): never make a log call throw.
function stringify(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    const seen = new WeakSet<object>();
    try {
      return JSON.stringify(value, (_k, v: unknown) => {
        if (typeof v === 'bigint') return v.toString();
        if (v !== null && typeof v === 'object') {
          if (seen.has(v)) return '[Circular]';
          seen.add(v);
        }
        return v;
      });
    } catch {
      return '"[unable to serialize, circular reference is too complex to analyze]"';
    }
  }
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A copy of `o` (a plain object) with every own REDACTED_KEYS property censored. */
function censorKeys(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in o) if (hasOwn(o, k)) out[k] = REDACTED.has(k) ? '[redacted]' : o[k];
  return out;
}

// The redaction pino applied with paths K, *.K and *.*.K for every K in REDACTED_KEYS: a field
// named K is replaced whole; inside any other field's value, K is replaced in that value (if it is
// an object) and in each of its members (the properties of an object, the elements of an array)
// that is an object. Deeper levels are left alone, as pino left them. A censored property keeps
// its place and is censored even when its value is undefined; the caller's objects are not touched.
function redactedJson(key: string, value: unknown): string | undefined {
  if (REDACTED.has(key)) return CENSOR;
  if (value === null || typeof value !== 'object') return stringify(value);
  let copy: unknown;
  if (Array.isArray(value)) {
    copy = value.map((m: unknown) => (isRecord(m) ? censorKeys(m) : m));
  } else {
    const out: Record<string, unknown> = {};
    const v = value as Record<string, unknown>;
    for (const k in v) {
      if (!hasOwn(v, k)) continue;
      const m = v[k];
      out[k] = REDACTED.has(k) ? '[redacted]' : isRecord(m) ? censorKeys(m) : m;
    }
    copy = out;
  }
  return stringify(copy);
}

/** A field's value as pino wrote it; undefined drops the field. */
function fieldJson(key: string, value: unknown, redact: boolean): string | undefined {
  switch (typeof value) {
    case 'undefined':
    case 'function':
      return undefined;
    case 'number':
      if (!Number.isFinite(value)) value = null;
      return redact ? redactedJson(key, value) : String(value);
    case 'boolean':
      return redact ? redactedJson(key, value) : String(value);
    case 'string':
      return redact ? redactedJson(key, value) : asString(value);
    default:
      return redact ? redactedJson(key, value) : stringify(value);
  }
}

/** Where finished lines go; a test may capture them instead. */
export type LineSink = (line: string) => void;

interface Core {
  level: number;
  /** `{"level":30` or `{"level":"info"`, per level. */
  prefix: Record<number, string>;
  time: () => string;
  redact: boolean;
  sink: LineSink;
  /**
   * The readable form's own output, when the sink is prettySink(direct): a plain message from a
   * logger bound to nothing but its stage goes there without the JSON round trip (the same bytes:
   * prettySink of that record is level, stage and message, and a string survives JSON as itself).
   */
  direct?: LineSink;
}

class JsonLogger implements Logger {
  readonly trace: LogFn;
  readonly debug: LogFn;
  readonly info: LogFn;
  readonly warn: LogFn;
  readonly error: LogFn;
  readonly fatal: LogFn;

  /** For core.direct: "stage: " (or "") when the bindings are at most a string stage; else undefined. */
  private readonly stagePrefix: string | undefined;

  constructor(
    private readonly core: Core,
    private readonly chindings: string,
  ) {
    this.stagePrefix = core.direct ? stagePrefixOf(chindings) : undefined;
    const fn = (num: number): LogFn => {
      // A level below the threshold is a no-op that formats nothing, as in pino.
      if (num < core.level) return () => {};
      return ((a: string | LogFields, b?: string) => this.write(num, a, b)) as LogFn;
    };
    this.trace = fn(LEVELS.trace);
    this.debug = fn(LEVELS.debug);
    this.info = fn(LEVELS.info);
    this.warn = fn(LEVELS.warn);
    this.error = fn(LEVELS.error);
    this.fatal = fn(LEVELS.fatal);
  }

  child(bindings: LogFields): Logger {
    let data = this.chindings;
    for (const key in bindings) {
      const value: unknown = bindings[key];
      if (key === 'level' || key === 'serializers' || key === 'formatters' || key === 'customLevels') continue;
      if (!hasOwn(bindings, key) || value === undefined) continue;
      const json = this.core.redact ? redactedJson(key, value) : stringify(value);
      if (json === undefined) continue;
      data += ',' + asString(key) + ':' + json;
    }
    return new JsonLogger(this.core, data);
  }

  private write(num: number, a: string | LogFields | undefined, b: string | undefined): void {
    const core = this.core;
    if (typeof a === 'string' && this.stagePrefix !== undefined) {
      core.direct!(`${PRETTY_LABELS[num]} ${this.stagePrefix}${a}\n`);
      return;
    }
    const time = core.time();
    let fields: Record<string, unknown> | undefined;
    let msg: unknown;
    if (typeof a === 'object' && a !== null) {
      fields = a;
      msg = b;
      // pino took the message of an `err` field when there was no other (kept for callers that
      // pass a pino-shaped record despite the type).
      const err = (a as Record<string, unknown>).err as { message?: unknown } | undefined;
      if (msg === undefined && a.msg === undefined && err) msg = err.message;
    } else {
      msg = a;
    }
    let line = core.prefix[num] + time + this.chindings;
    if (fields) {
      for (const key in fields) {
        if (!hasOwn(fields, key)) continue;
        const json = fieldJson(key, fields[key], core.redact);
        if (json !== undefined) line += ',' + asString(key) + ':' + json;
      }
    }
    if (msg !== undefined && typeof msg !== 'function') {
      const json = core.redact ? redactedJson('msg', typeof msg === 'number' && !Number.isFinite(msg) ? null : msg) : typeof msg === 'string' ? asString(msg) : fieldJson('msg', msg, false);
      line += ',"msg":' + json;
    }
    core.sink(line + '}\n');
  }
}

/** prettySink's level column: the label upper-cased, padded to 5. */
const PRETTY_LABELS: Record<number, string> = Object.fromEntries(Object.entries(LEVELS).map(([label, num]) => [num, label.toUpperCase().padEnd(5)]));

/** What prettySink puts before the message for records with these bindings and no fields. */
function stagePrefixOf(chindings: string): string | undefined {
  if (chindings === '') return '';
  try {
    const bound = JSON.parse(`{${chindings.slice(1)}}`) as Record<string, unknown>;
    const keys = Object.keys(bound);
    if (keys.length !== 1 || keys[0] !== 'stage' || typeof bound.stage !== 'string') return undefined;
    return bound.stage ? `${bound.stage}: ` : '';
  } catch {
    return undefined;
  }
}

function levelValue(level: string): number {
  if (level === 'silent') return Infinity;
  if (!Object.prototype.hasOwnProperty.call(LEVELS, level)) throw new Error(`default level:${level} must be included in custom levels`);
  return LEVELS[level as LevelName];
}

function prefixes(labels: boolean): Record<number, string> {
  const out: Record<number, string> = {};
  for (const [label, num] of Object.entries(LEVELS)) out[num] = labels ? `{"level":"${label}"` : `{"level":${num}`;
  return out;
}

// What pino.destination({ fd, sync: true }) did (sonic-boom): write now, all of it; wait 100 ms and
// retry while the descriptor says EAGAIN/EBUSY; after EPIPE (the reader went away) drop every
// later line; any other error reaches the caller.
let sleeper: Int32Array | undefined;
function fdSink(fd: number): LineSink {
  let broken = false;
  return (line: string) => {
    if (broken) return;
    const buf = Buffer.from(line, 'utf8');
    let off = 0;
    while (off < buf.length) {
      try {
        off += writeSync(fd, buf, off, buf.length - off);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EBUSY') {
          Atomics.wait((sleeper ??= new Int32Array(new SharedArrayBuffer(4))), 0, 0, 100);
        } else if (code === 'EPIPE') {
          broken = true;
          return;
        } else {
          throw err;
        }
      }
    }
  };
}

// The readable form: "INFO  files: op(3): [started]  writing file /etc/hostname". Made from the
// JSON line, exactly as the pino-based logger did, so both forms always carry the same fields.
function prettySink(out: LineSink): LineSink {
  return (line: string) => {
    try {
      const rec = JSON.parse(line) as Record<string, unknown>;
      const { level: lvl, msg, stage, ...rest } = rec;
      const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
      out(`${String(lvl).toUpperCase().padEnd(5)} ${stage ? String(stage) + ': ' : ''}${String(msg ?? '')}${extra}\n`);
    } catch {
      out(line);
    }
  };
}

let current: Logger | undefined;

/**
 * process.stderr.isTTY, without making node create process.stderr when fd 2 cannot be a terminal:
 * for a pipe or a socket (the journal) that stream loads node:net and the streams, ~5 ms of CPU
 * per process (docs/startup.md). A terminal is always a character device, so anything else is
 * answered at once; a character device (a terminal, /dev/null) is left to node, as before.
 */
export function stderrIsTTY(): boolean {
  try {
    if (!fstatSync(2).isCharacterDevice()) return false;
  } catch {
    // fd 2 is not open: node decides, as before
  }
  return process.stderr.isTTY === true;
}

/**
 * The logger of a command. `sink` replaces the file descriptor (tests capture lines with it).
 * Throws for a level pino did not know, with pino's message.
 */
export function createLogger(opts: LoggerOptions = {}, sink?: LineSink): Logger {
  const level = opts.level ?? process.env.KINDLING_LOG_LEVEL ?? 'info';
  const pretty = opts.toStdout || stderrIsTTY();
  const fd = opts.fd ?? (opts.toStdout ? 1 : 2);
  const out = sink ?? fdSink(fd);
  current = new JsonLogger(
    {
      level: levelValue(level),
      prefix: prefixes(Boolean(pretty)),
      time: pretty ? () => '' : () => `,"time":"${new Date(Date.now()).toISOString()}"`,
      redact: true,
      sink: pretty ? prettySink(out) : out,
      direct: pretty ? out : undefined,
    },
    '',
  );
  return current;
}

/**
 * The default logger when no command created one: library use and tests. Silent unless
 * KINDLING_LOG_LEVEL says otherwise; then JSON lines on stdout in pino's default shape (epoch
 * time, pid, hostname, no redaction), as `pino({ level })` wrote them.
 */
export function defaultLogger(sink?: LineSink): Logger {
  const level = levelValue(process.env.KINDLING_LOG_LEVEL ?? 'silent');
  const core: Core = { level, prefix: prefixes(false), time: () => `,"time":${Date.now()}`, redact: false, sink: sink ?? fdSink(1) };
  // pino's base bindings: computed once, only when something may be written.
  const base = level === Infinity ? '' : `,"pid":${process.pid},"hostname":${JSON.stringify(hostname())}`;
  return new JsonLogger(core, base);
}

/**
 * os.hostname(), loading node:os only here: every command imports this module, and node:os costs
 * about 0.2 ms of start-up that only this library-use path needs. (process.getBuiltinModule is in
 * node >= 20.16; older nodes read the same value from the kernel.)
 */
function hostname(): string {
  const os = process.getBuiltinModule?.('node:os');
  return os ? os.hostname() : readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
}

/** The process-wide logger; created silent-by-default for library use and tests. */
export function getLogger(): Logger {
  if (!current) current = defaultLogger();
  return current;
}

export function setLogger(l: Logger): void {
  current = l;
}
