// Go's flag syntax, as the ignition binary accepts it: -name value, -name=value, --name value,
// --name=value; booleans take no value (or =true/=false). Parsing stops at "--" or the first
// argument that is not a flag.
import { KindlingError } from '../errors.js';

export interface FlagSpec {
  /** Flags that take no value. */
  booleans: readonly string[];
  /** Flags that take a value. */
  strings: readonly string[];
  /** Flags that take a value and may be given more than once (collected in order). */
  lists?: readonly string[];
  /** Keep parsing after a positional argument (the human subcommands); Go's flag package stops. */
  interspersed?: boolean;
}

export interface ParsedFlags {
  values: Record<string, string>;
  booleans: Record<string, boolean>;
  lists: Record<string, string[]>;
  rest: string[];
}

export function parseFlags(argv: readonly string[], spec: FlagSpec): ParsedFlags {
  const values: Record<string, string> = {};
  const booleans: Record<string, boolean> = {};
  const lists: Record<string, string[]> = {};
  const rest: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      if (!spec.interspersed) break;
      rest.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    const inline = eq === -1 ? undefined : body.slice(eq + 1);
    if (spec.booleans.includes(name)) {
      if (inline === undefined || inline === 'true' || inline === '1') booleans[name] = true;
      else if (inline === 'false' || inline === '0') booleans[name] = false;
      else throw new KindlingError('usage', `invalid boolean value "${inline}" for flag -${name}`);
    } else if (spec.strings.includes(name) || spec.lists?.includes(name)) {
      let value: string;
      if (inline !== undefined) value = inline;
      else if (i + 1 < argv.length) value = argv[++i]!;
      else throw new KindlingError('usage', `flag needs an argument: -${name}`);
      if (spec.lists?.includes(name)) (lists[name] ??= []).push(value);
      else values[name] = value;
    } else {
      throw new KindlingError('usage', `flag provided but not defined: -${name}`);
    }
  }
  rest.push(...argv.slice(i));
  return { values, booleans, lists, rest };
}
