// The checks Ignition makes on unit and drop-in contents: they must parse as systemd unit files
// (Ignition uses go-systemd's unit.Deserialize), and an enabled unit needs an [Install] section.

/**
 * Where go-systemd's lexer finds the first section: before it, runes are skipped one by one, a
 * comment character ("#" or ";") skips the rest of its line, and the first "[" opens a section.
 * Text with no such "[" has no sections at all (and is valid).
 */
function firstSectionStart(contents: string): number {
  for (let i = 0; i < contents.length; i++) {
    const c = contents[i];
    if (c === '[') return i;
    if (c === '#' || c === ';') {
      const nl = contents.indexOf('\n', i);
      if (nl < 0) return -1;
      i = nl;
    }
  }
  return -1;
}

/** The section names of a unit file, or an error message in go-systemd's words. */
export function parseUnitSections(contents: string): { sections: string[] } | { error: string } {
  const sections: string[] = [];
  const start = firstSectionStart(contents);
  if (start < 0) return { sections };
  const lines = contents.slice(start).split(/\r?\n/);
  let continuation = false;
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].trim();
    if (continuation) {
      continuation = line.endsWith('\\');
      continue;
    }
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      const end = line.indexOf(']');
      if (end < 0) return { error: 'unable to find end of section' };
      sections.push(line.slice(1, end));
      continue;
    }
    // go-systemd reads an option name up to "=": a newline first is an error, the end of text "EOF".
    if (!line.includes('=')) return { error: n < lines.length - 1 ? 'unexpected newline encountered while parsing option name' : 'EOF' };
    continuation = line.endsWith('\\');
  }
  return { sections };
}

/** undefined when valid, else "invalid unit content: …" as Ignition reports it. */
export function validateUnitContents(contents: string | undefined): string | undefined {
  if (contents === undefined || contents === '') return undefined;
  const parsed = parseUnitSections(contents);
  return 'error' in parsed ? `invalid unit content: ${parsed.error}` : undefined;
}

export function hasInstallSection(contents: string): boolean {
  const parsed = parseUnitSections(contents);
  return 'sections' in parsed && parsed.sections.includes('Install');
}

const UNIT_TYPES = ['.service', '.socket', '.device', '.mount', '.automount', '.swap', '.target', '.path', '.timer', '.snapshot', '.slice', '.scope'];

export const ERR_INVALID_SYSTEMD_EXT = 'invalid systemd unit extension';
export const ERR_INVALID_DROPIN_EXT = 'invalid systemd drop-in extension';

export function validateUnitName(name: string): string | undefined {
  const dot = name.lastIndexOf('.');
  const ext = dot >= 0 ? name.slice(dot) : '';
  return UNIT_TYPES.includes(ext) ? undefined : ERR_INVALID_SYSTEMD_EXT;
}

export function validateDropinName(name: string): string | undefined {
  return name.endsWith('.conf') ? undefined : ERR_INVALID_DROPIN_EXT;
}
