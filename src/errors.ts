// Errors are values: a kind, where in the config it comes from, and a sentence a user understands.
// Stages and the config engine throw KindlingError; the CLI decides how to print it.

export type ErrorKind =
  | 'config-syntax' // the text is not JSON
  | 'config-version' // unknown, unsupported or missing version
  | 'config-invalid' // fails the schema or a semantic rule
  | 'fetch' // a resource could not be fetched or verified
  | 'platform' // the platform is unknown or its metadata service failed
  | 'disk' // a disk operation is refused or failed
  | 'files' // the files stage could not do what the config says
  | 'system' // an external tool failed
  | 'usage'; // bad command-line arguments

/** Where in the config text an entry comes from. */
export interface ConfigLocation {
  /** RFC 6901 JSON pointer, e.g. "/storage/files/0/mode". "" is the whole document. */
  pointer: string;
  /** 1-based, when the original text is known. */
  line?: number;
  column?: number;
}

export interface ReportEntry {
  kind: 'error' | 'warning' | 'info';
  message: string;
  location?: ConfigLocation;
}

export class KindlingError extends Error {
  readonly kind: ErrorKind;
  readonly location?: ConfigLocation;
  /** Every error and warning behind this failure (e.g. all validation errors of a config). */
  readonly entries: ReportEntry[];

  constructor(kind: ErrorKind, message: string, opts: { location?: ConfigLocation; entries?: ReportEntry[]; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'KindlingError';
    this.kind = kind;
    this.location = opts.location;
    this.entries = opts.entries ?? [];
  }
}

/** "at /storage/files/0/mode (line 12, column 17)" or "" when nothing is known. */
export function describeLocation(loc?: ConfigLocation): string {
  if (!loc) return '';
  const where = loc.pointer === '' ? 'the config' : loc.pointer;
  const pos = loc.line !== undefined ? ` (line ${loc.line}, column ${loc.column ?? 0})` : '';
  return `at ${where}${pos}`;
}

/** One readable line: "what: why, at where". */
export function formatError(err: unknown): string {
  if (err instanceof KindlingError) {
    const where = describeLocation(err.location);
    return where ? `${err.message} ${where}` : err.message;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Builds a JSON pointer from path segments, escaping "~" and "/". */
export function toPointer(path: ReadonlyArray<string | number>): string {
  return path.map((p) => '/' + String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}
