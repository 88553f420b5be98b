// The one logger. JSON lines on stderr by default (what journald and the initrd console collect);
// a readable one-line form on stdout with -log-to-stdout or when stderr is a TTY.
// Redaction lives here and only here, so secrets cannot leak through a forgotten call site:
// any field with one of the REDACTED_KEYS names is replaced, at any depth pino can see.
import pino from 'pino';

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

const redactPaths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export type Logger = pino.Logger;

export interface LoggerOptions {
  toStdout?: boolean;
  level?: string;
}

let current: Logger | undefined;

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.KINDLING_LOG_LEVEL ?? 'info';
  const pretty = opts.toStdout || process.stderr.isTTY;
  const fd = opts.toStdout ? 1 : 2;
  const base = {
    level,
    base: undefined,
    redact: { paths: redactPaths, censor: '[redacted]' },
    timestamp: pretty ? false : pino.stdTimeFunctions.isoTime,
  };
  if (pretty) {
    // A readable line per record: "INFO  files: op(3): [started]  writing file /etc/hostname".
    // Written synchronously so that a failing boot's last lines reach the console.
    const dest = pino.destination({ fd, sync: true });
    current = pino(
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
  } else {
    current = pino(base, pino.destination({ fd, sync: true }));
  }
  return current;
}

/** The process-wide logger; created silent-by-default for library use and tests. */
export function getLogger(): Logger {
  if (!current) current = pino({ level: process.env.KINDLING_LOG_LEVEL ?? 'silent' });
  return current;
}

export function setLogger(l: Logger): void {
  current = l;
}
