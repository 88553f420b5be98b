// A small JSON parser that remembers where every value and every object key starts, so that
// config errors can name a line and column (as Ignition does through its go-json fork).
//
// Behaviour follows Go's encoding/json, which is what Ignition uses: strict RFC 8259 syntax,
// duplicate object keys are allowed (the last one wins), and a syntax error is reported with
// Go's wording ("invalid character '}' looking for beginning of object key string") plus the
// line and column of the offending character.
import { toPointer } from '../../errors.js';

export interface Position {
  /** 1-based */
  line: number;
  /** 1-based, in characters (UTF-16 code units) from the start of the line */
  column: number;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface ParsedJson {
  value: JsonValue;
  /** JSON pointer of every value -> where it starts (objects and arrays: just after the bracket). */
  valueAt: Map<string, Position>;
  /** JSON pointer of every object member -> where its key starts. */
  keyAt: Map<string, Position>;
  /** JSON pointer of every value -> the position just after it (where Go reports type errors). */
  valueEnd: Map<string, Position>;
  /** JSON pointer of every number -> its literal text (Go rejects 4.2e2 or 420.0 for an int). */
  numberText: Map<string, string>;
}

export class JsonSyntaxError extends Error {
  readonly position: Position;
  readonly offset: number;
  constructor(message: string, offset: number, position: Position) {
    super(message);
    this.name = 'JsonSyntaxError';
    this.offset = offset;
    this.position = position;
  }
}

/** Go's quoting of the offending character in syntax errors. */
function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return "'\"'";
  const code = c.codePointAt(0) ?? 0;
  if (code < 0x20) return `'\\x${code.toString(16).padStart(2, '0')}'`;
  return `'${c}'`;
}

/**
 * How deep objects and arrays may nest. Go's decoder allows 10,000; every later pass over a config
 * here (decoding, validation, merge) recurses too, and a real config nests about ten deep, so
 * Kindling refuses past 1,000 with a located syntax error instead of risking the stack.
 */
export const MAX_DEPTH = 1000;

export function parseJson(text: string): ParsedJson {
  return new Parser(text).parseDocument();
}

class Parser {
  private pos = 0;
  private readonly valueAt = new Map<string, Position>();
  private readonly keyAt = new Map<string, Position>();
  private readonly numberText = new Map<string, string>();
  private readonly valueEnd = new Map<string, Position>();
  /** Offsets where each line starts, for offset -> line/column. */
  private readonly lineStarts: number[] = [0];

  constructor(private readonly text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
  }

  positionOf(offset: number): Position {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.lineStarts[lo] + 1 };
  }

  /**
   * Go's SyntaxError.Offset counts the offending byte as read, and Ignition prints the position of
   * that offset: one past the bad character. We report the same place as ignition-validate.
   */
  private fail(message: string, offset = this.pos): never {
    throw new JsonSyntaxError(message, offset, this.positionOf(Math.min(offset + 1, this.text.length)));
  }

  private unexpected(context: string): never {
    if (this.pos >= this.text.length) this.fail('unexpected end of JSON input');
    const c = String.fromCodePoint(this.text.codePointAt(this.pos) ?? 0);
    this.fail(`invalid character ${quoteChar(c)} ${context}`);
  }

  private skipSpace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.pos++;
      else break;
    }
  }

  parseDocument(): ParsedJson {
    this.skipSpace();
    const value = this.parseValue([]);
    this.skipSpace();
    if (this.pos < this.text.length) this.unexpected('after top-level value');
    return { value, valueAt: this.valueAt, keyAt: this.keyAt, valueEnd: this.valueEnd, numberText: this.numberText };
  }

  private parseValue(path: (string | number)[]): JsonValue {
    if (this.pos >= this.text.length) this.fail('unexpected end of JSON input');
    const pointer = toPointer(path);
    // Ignition (go-json) places an object or array just inside its opening bracket; scalars at
    // their first character. Kept identical so that positions match ignition-validate's.
    const c = this.text[this.pos];
    if ((c === '{' || c === '[') && path.length >= MAX_DEPTH) this.fail(`exceeded max depth (${MAX_DEPTH} nested objects and arrays)`);
    this.valueAt.set(pointer, this.positionOf(c === '{' || c === '[' ? this.pos + 1 : this.pos));
    const value = this.parseBareValue(path, pointer);
    this.valueEnd.set(pointer, this.positionOf(this.pos));
    return value;
  }

  private parseBareValue(path: (string | number)[], pointer: string): JsonValue {
    const c = this.text[this.pos];
    switch (c) {
      case '{':
        return this.parseObject(path);
      case '[':
        return this.parseArray(path);
      case '"':
        return this.parseString();
      case 't':
        return this.parseLiteral('true', true);
      case 'f':
        return this.parseLiteral('false', false);
      case 'n':
        return this.parseLiteral('null', null);
      default:
        if (c === '-' || (c >= '0' && c <= '9')) return this.parseNumber(pointer);
        this.unexpected('looking for beginning of value');
    }
  }

  private parseLiteral<T extends JsonValue>(word: string, value: T): T {
    for (let i = 0; i < word.length; i++) {
      if (this.pos >= this.text.length) this.fail('unexpected end of JSON input');
      if (this.text[this.pos] !== word[i]) this.unexpected(`in literal ${word} (expecting '${word[i]}')`);
      this.pos++;
    }
    return value;
  }

  private parseNumber(pointer: string): number {
    const start = this.pos;
    const t = this.text;
    const digit = () => this.pos < t.length && t[this.pos] >= '0' && t[this.pos] <= '9';
    if (t[this.pos] === '-') {
      this.pos++;
      if (!digit()) this.unexpected('in numeric literal');
    }
    if (t[this.pos] === '0') this.pos++;
    else while (digit()) this.pos++;
    if (t[this.pos] === '.') {
      this.pos++;
      if (!digit()) this.unexpected('after decimal point in numeric literal');
      while (digit()) this.pos++;
    }
    if (t[this.pos] === 'e' || t[this.pos] === 'E') {
      this.pos++;
      if (t[this.pos] === '+' || t[this.pos] === '-') this.pos++;
      if (!digit()) this.unexpected('in exponent of numeric literal');
      while (digit()) this.pos++;
    }
    const literal = t.slice(start, this.pos);
    this.numberText.set(pointer, literal);
    return Number(literal);
  }

  private parseString(): string {
    const t = this.text;
    this.pos++; // opening quote
    let out = '';
    let chunkStart = this.pos;
    for (;;) {
      if (this.pos >= t.length) this.fail('unexpected end of JSON input');
      const code = t.charCodeAt(this.pos);
      if (code === 0x22) {
        out += t.slice(chunkStart, this.pos);
        this.pos++;
        return out;
      }
      if (code < 0x20) this.unexpected('in string literal');
      if (code === 0x5c) {
        out += t.slice(chunkStart, this.pos);
        this.pos++;
        if (this.pos >= t.length) this.fail('unexpected end of JSON input');
        const e = t[this.pos];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e in simple) {
          out += simple[e];
          this.pos++;
        } else if (e === 'u') {
          this.pos++;
          let hex = '';
          for (let i = 0; i < 4; i++) {
            if (this.pos >= t.length) this.fail('unexpected end of JSON input');
            if (!/[0-9a-fA-F]/.test(t[this.pos])) this.unexpected('in \\u hexadecimal character escape');
            hex += t[this.pos++];
          }
          out += String.fromCharCode(parseInt(hex, 16));
        } else {
          this.unexpected('in string escape code');
        }
        chunkStart = this.pos;
        continue;
      }
      this.pos++;
    }
  }

  private parseArray(path: (string | number)[]): JsonValue[] {
    this.pos++; // [
    const out: JsonValue[] = [];
    this.skipSpace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      out.push(this.parseValue([...path, out.length]));
      this.skipSpace();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === ']') {
        this.pos++;
        return out;
      }
      this.unexpected('after array element');
    }
  }

  private parseObject(path: (string | number)[]): { [key: string]: JsonValue } {
    this.pos++; // {
    // A null-prototype object: keys such as "__proto__" are plain data here.
    const out = Object.create(null) as { [key: string]: JsonValue };
    this.skipSpace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] !== '"') this.unexpected('looking for beginning of object key string');
      const keyOffset = this.pos;
      const key = this.parseString();
      this.skipSpace();
      if (this.text[this.pos] !== ':') this.unexpected('after object key');
      this.pos++;
      this.skipSpace();
      const childPath = [...path, key];
      this.keyAt.set(toPointer(childPath), this.positionOf(keyOffset));
      out[key] = this.parseValue(childPath);
      this.skipSpace();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === '}') {
        this.pos++;
        return out;
      }
      this.unexpected('after object key:value pair');
    }
  }
}
