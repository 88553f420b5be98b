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

/**
 * The section names of a unit file and, for each option, the section it is in (go-systemd
 * returns options only: a section with no option in it is invisible to Ignition's checks), or an
 * error message in go-systemd's words. A character-level copy of the behaviour of go-systemd's
 * unit.Deserialize lexer (measured against ignition-validate), including its oddities: a section
 * name runs to the next "]" even across lines, and text after "]" on that line is an error.
 */
export function parseUnitSections(contents: string): { sections: string[]; optionSections: string[] } | { error: string } {
  const sections: string[] = [];
  const optionSections: string[] = [];
  const start = firstSectionStart(contents);
  if (start < 0) return { sections, optionSections };
  const t = contents;
  let i = start;
  const skipLine = () => {
    const nl = t.indexOf('\n', i);
    i = nl < 0 ? t.length : nl + 1;
  };
  while (i < t.length) {
    const c = t[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
      continue;
    }
    if (c === '#' || c === ';') {
      skipLine();
      continue;
    }
    if (c === '[') {
      const close = t.indexOf(']', i + 1);
      if (close < 0) return { error: 'unable to find end of section' };
      sections.push(t.slice(i + 1, close));
      i = close + 1;
      const nl = t.indexOf('\n', i);
      const rest = t.slice(i, nl < 0 ? t.length : nl).trim();
      if (rest !== '') return { error: `found garbage after section name : ${JSON.stringify(rest)}` };
      i = nl < 0 ? t.length : nl + 1;
      continue;
    }
    // An option: its name runs to "="; a newline first is an error, the end of text is "EOF".
    const eq = t.indexOf('=', i);
    const nl = t.indexOf('\n', i);
    if (eq < 0) return { error: nl < 0 ? 'EOF' : 'unexpected newline encountered while parsing option name' };
    if (nl >= 0 && nl < eq) return { error: 'unexpected newline encountered while parsing option name' };
    optionSections.push(sections[sections.length - 1]);
    // The value runs to the end of the line; a backslash before the newline continues it.
    i = eq + 1;
    for (;;) {
      const end = t.indexOf('\n', i);
      if (end < 0) {
        i = t.length;
        break;
      }
      const line = t.slice(i, end).replace(/\r$/, '');
      i = end + 1;
      if (!line.endsWith('\\')) break;
    }
  }
  return { sections, optionSections };
}

/** undefined when valid, else "invalid unit content: …" as Ignition reports it. */
export function validateUnitContents(contents: string | undefined): string | undefined {
  if (contents === undefined || contents === '') return undefined;
  const parsed = parseUnitSections(contents);
  return 'error' in parsed ? `invalid unit content: ${parsed.error}` : undefined;
}

/** Whether an option sits in [Install] (an empty [Install] does not count, as in Ignition). */
export function hasInstallSection(contents: string): boolean {
  const parsed = parseUnitSections(contents);
  return 'optionSections' in parsed && parsed.optionSections.includes('Install');
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
