// Validation findings before they are tied to text positions: a kind, Ignition's message, and
// the path (keys and indices) from the value that was validated.
export type Path = (string | number)[];

export interface Finding {
  kind: 'error' | 'warning';
  message: string;
  path: Path;
}

export class Findings {
  readonly list: Finding[] = [];
  error(path: Path, message: string | undefined): void {
    if (message) this.list.push({ kind: 'error', message, path });
  }
  warn(path: Path, message: string | undefined): void {
    if (message) this.list.push({ kind: 'warning', message, path });
  }
}

/** "$.storage.files.0.mode", the way Ignition prints a path. */
export function dollarPath(path: Path): string {
  return ['$', ...path.map(String)].join('.');
}
