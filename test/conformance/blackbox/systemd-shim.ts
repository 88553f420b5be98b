// For the ORACLE only (Debian's Ignition 2.14): a stand-in for systemd's private D-Bus socket
// (/run/systemd/private). Ignition 2.14 waits for block devices by starting their `.device` units
// through go-systemd (StartUnit + the JobRemoved signal), and nothing answers on this machine
// (no systemd, no udev). This shim speaks just enough D-Bus (EXTERNAL auth, method calls, method
// returns, errors, signals; little-endian) to answer StartUnit for `dev-*.device` units once the
// device node exists — running `partx -a` on the parent loop device first, which is udev's job —
// and AddMatch. Anything else gets org.freedesktop.DBus.Error.UnknownMethod (and is logged).
// Kindling never talks to it. Only created when /run/systemd/private does not exist; removed after.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { run } from './exec.js';

type Value = string | number | boolean | Value[];

class Writer {
  buf = Buffer.alloc(0);
  pad(n: number) {
    const p = (n - (this.buf.length % n)) % n;
    if (p) this.buf = Buffer.concat([this.buf, Buffer.alloc(p)]);
  }
  raw(b: Buffer) {
    this.buf = Buffer.concat([this.buf, b]);
  }
  u8(v: number) {
    this.raw(Buffer.from([v]));
  }
  u32(v: number) {
    this.pad(4);
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.raw(b);
  }
  str(v: string) {
    const b = Buffer.from(v, 'utf8');
    this.u32(b.length);
    this.raw(Buffer.concat([b, Buffer.from([0])]));
  }
  sig(v: string) {
    this.u8(v.length);
    this.raw(Buffer.from(v + '\0', 'latin1'));
  }
  value(type: string, v: Value): void {
    switch (type) {
      case 'y':
        return this.u8(v as number);
      case 'u':
      case 'i':
        return this.u32(v as number);
      case 'b':
        return this.u32(v ? 1 : 0);
      case 's':
      case 'o':
        return this.str(v as string);
      case 'g':
        return this.sig(v as string);
      case 'v': {
        // A variant is given as [signature, value].
        const [sig, inner] = v as [string, Value];
        this.sig(sig);
        return this.value(sig, inner);
      }
      default:
        throw new Error(`shim cannot marshal ${type}`);
    }
  }
}

class Reader {
  constructor(
    public buf: Buffer,
    public pos = 0,
  ) {}
  align(n: number) {
    this.pos += (n - (this.pos % n)) % n;
  }
  u8() {
    return this.buf[this.pos++];
  }
  u32() {
    this.align(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  str() {
    const n = this.u32();
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n + 1;
    return s;
  }
  sig() {
    const n = this.u8();
    const s = this.buf.toString('latin1', this.pos, this.pos + n);
    this.pos += n + 1;
    return s;
  }
  /** Reads one complete type from `sig` at index i; returns [value, next index]. */
  value(sig: string, i: number): [Value, number] {
    const t = sig[i];
    switch (t) {
      case 'y':
        return [this.u8(), i + 1];
      case 'b':
      case 'u':
      case 'i':
        return [this.u32(), i + 1];
      case 'x':
      case 't':
      case 'd':
        this.align(8);
        this.pos += 8;
        return [0, i + 1];
      case 'n':
      case 'q':
        this.align(2);
        this.pos += 2;
        return [0, i + 1];
      case 's':
      case 'o':
        return [this.str(), i + 1];
      case 'g':
        return [this.sig(), i + 1];
      case 'v': {
        const s = this.sig();
        return [this.value(s, 0)[0], i + 1];
      }
      case 'a': {
        const len = this.u32();
        const elem = sig[i + 1];
        this.align(elem === '(' || elem === '{' || elem === 'x' || elem === 't' || elem === 'd' ? 8 : elem === 'n' || elem === 'q' ? 2 : elem === 'y' || elem === 'g' || elem === 'v' ? 1 : 4);
        const end = this.pos + len;
        const out: Value[] = [];
        let next = i + 1;
        while (this.pos < end) [out[out.length], next] = this.value(sig, i + 1);
        if (!out.length) next = skipType(sig, i + 1);
        return [out, next];
      }
      case '(':
      case '{': {
        this.align(8);
        const out: Value[] = [];
        let j = i + 1;
        while (sig[j] !== ')' && sig[j] !== '}') {
          const [v, n] = this.value(sig, j);
          out.push(v);
          j = n;
        }
        return [out, j + 1];
      }
      default:
        throw new Error(`shim cannot read type ${t}`);
    }
  }
}

function skipType(sig: string, i: number): number {
  const t = sig[i];
  if (t === 'a') return skipType(sig, i + 1);
  if (t === '(' || t === '{') {
    let j = i + 1;
    while (sig[j] !== ')' && sig[j] !== '}') j = skipType(sig, j);
    return j + 1;
  }
  return i + 1;
}

interface Message {
  type: number;
  serial: number;
  fields: Map<number, Value>;
  body: Value[];
}

function encode(type: number, serial: number, fields: [number, string, Value][], bodySig: string, body: Value[]): Buffer {
  const b = new Writer();
  let i = 0;
  for (const v of body) {
    const end = skipType(bodySig, i);
    b.value(bodySig.slice(i, end), v);
    i = end;
  }
  const h = new Writer();
  h.raw(Buffer.from(['l'.charCodeAt(0), type, 0, 1]));
  h.u32(b.buf.length);
  h.u32(serial);
  const arr = new Writer();
  const all: [number, string, Value][] = bodySig ? [...fields, [8, 'g', bodySig]] : fields;
  for (const [code, t, v] of all) {
    arr.pad(8);
    arr.u8(code);
    arr.sig(t);
    arr.value(t, v);
  }
  // The array's length excludes the padding before its first element (offset 16 is 8-aligned).
  h.u32(arr.buf.length);
  h.raw(arr.buf);
  h.pad(8);
  return Buffer.concat([h.buf, b.buf]);
}

function tryDecode(buf: Buffer): [Message, number] | undefined {
  if (buf.length < 16) return undefined;
  if (buf[0] !== 'l'.charCodeAt(0)) throw new Error('shim: big-endian D-Bus not supported');
  const bodyLen = buf.readUInt32LE(4);
  const fieldsLen = buf.readUInt32LE(12);
  const headerEnd = 16 + fieldsLen + ((8 - ((16 + fieldsLen) % 8)) % 8);
  if (buf.length < headerEnd + bodyLen) return undefined;
  const r = new Reader(buf, 16);
  const fields = new Map<number, Value>();
  while (r.pos < 16 + fieldsLen) {
    r.align(8);
    const code = r.u8();
    const s = r.sig();
    fields.set(code, r.value(s, 0)[0]);
  }
  const body: Value[] = [];
  const sig = (fields.get(8) as string | undefined) ?? '';
  const br = new Reader(buf.subarray(headerEnd, headerEnd + bodyLen));
  for (let i = 0; i < sig.length; ) {
    const [v, n] = br.value(sig, i);
    body.push(v);
    i = n;
  }
  return [{ type: buf[1], serial: buf.readUInt32LE(8), fields, body }, headerEnd + bodyLen];
}

/** "dev-loop1p6.device" -> "/dev/loop1p6" (systemd's path unescaping). */
export function deviceOfUnit(unit: string): string | undefined {
  if (!unit.endsWith('.device')) return undefined;
  const name = unit.slice(0, -'.device'.length);
  return '/' + name.replace(/-/g, '/').replace(/\\x([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

async function waitForDevice(dev: string, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let asked = false;
  while (Date.now() < deadline) {
    if (existsSync(dev)) return true;
    const m = /^(\/dev\/loop\d+)p\d+$/.exec(dev);
    if (m && !asked) {
      asked = true;
      await run('partx', ['-a', m[1]], { timeoutMs: 10_000 });
      continue;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return existsSync(dev);
}

export interface SystemdShim {
  log: string[];
  close(): Promise<void>;
}

export async function startSystemdShim(path = '/run/systemd/private'): Promise<SystemdShim | undefined> {
  if (existsSync(path)) return undefined; // a real systemd (or someone else) is there
  mkdirSync('/run/systemd', { recursive: true });
  const log: string[] = [];
  const conns = new Set<Socket>();
  let jobId = 1;
  let serial = 1;
  const server: Server = createServer((sock) => {
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    sock.on('error', () => undefined);
    let authed = false;
    let pending = Buffer.alloc(0);
    const send = (b: Buffer) => {
      if (!sock.destroyed) sock.write(b);
    };
    const reply = (m: Message, sig: string, body: Value[]) => send(encode(2, serial++, [[5, 'u', m.serial]], sig, body));
    const error = (m: Message, name: string, text: string) => send(encode(3, serial++, [[4, 's', name], [5, 'u', m.serial]], 's', [text]));
    const handle = async (m: Message) => {
      if (m.type !== 1) return;
      const iface = (m.fields.get(2) as string) ?? '';
      const member = (m.fields.get(3) as string) ?? '';
      const what = `${iface}.${member}(${JSON.stringify(m.body)})`;
      log.push(what);
      if (member === 'AddMatch' || member === 'RemoveMatch') return reply(m, '', []);
      if (member === 'Hello') return reply(m, 's', [':1.1']);
      if (iface === 'org.freedesktop.DBus.Properties' && member === 'Get' && m.body[0] === 'org.freedesktop.systemd1.Manager' && m.body[1] === 'Version') {
        return reply(m, 'v', [['s', '252']]);
      }
      if (iface === 'org.freedesktop.systemd1.Manager' && member === 'StartUnit') {
        const unit = String(m.body[0]);
        const id = jobId++;
        const job = `/org/freedesktop/systemd1/job/${id}`;
        reply(m, 'o', [job]);
        const dev = deviceOfUnit(unit);
        const ok = dev ? await waitForDevice(dev) : false;
        const result = ok ? 'done' : dev ? 'timeout' : 'failed';
        log.push(`JobRemoved ${unit} ${result}`);
        const signal = encode(
          4,
          serial++,
          [
            [1, 'o', '/org/freedesktop/systemd1'],
            [2, 's', 'org.freedesktop.systemd1.Manager'],
            [3, 's', 'JobRemoved'],
          ],
          'uoss',
          [id, job, unit, result],
        );
        // go-systemd listens for JobRemoved on its second connection: tell every connection.
        for (const c of conns) if (!c.destroyed) c.write(signal);
        return;
      }
      error(m, 'org.freedesktop.DBus.Error.UnknownMethod', `the test shim does not implement ${iface}.${member}`);
    };
    sock.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (!authed) {
        // Text phase: an initial NUL, then CRLF-terminated commands until BEGIN.
        for (;;) {
          if (pending[0] === 0) pending = pending.subarray(1);
          const nl = pending.indexOf('\r\n');
          if (nl === -1) return;
          const line = pending.toString('latin1', 0, nl);
          pending = pending.subarray(nl + 2);
          if (line.startsWith('AUTH EXTERNAL')) sock.write(line.trim() === 'AUTH EXTERNAL' ? 'DATA\r\n' : 'OK 0123456789abcdef0123456789abcdef\r\n');
          else if (line.startsWith('AUTH')) sock.write('REJECTED EXTERNAL\r\n');
          else if (line.startsWith('DATA')) sock.write('OK 0123456789abcdef0123456789abcdef\r\n');
          else if (line.startsWith('NEGOTIATE_UNIX_FD')) sock.write('AGREE_UNIX_FD\r\n');
          else if (line.startsWith('BEGIN')) {
            authed = true;
            break;
          } else sock.write('ERROR\r\n');
        }
      }
      for (;;) {
        let decoded: [Message, number] | undefined;
        try {
          decoded = tryDecode(pending);
        } catch (err) {
          log.push(`decode error: ${(err as Error).message}`);
          sock.destroy();
          return;
        }
        if (!decoded) return;
        pending = pending.subarray(decoded[1]);
        void handle(decoded[0]);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  return {
    log,
    async close() {
      for (const c of conns) c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(path, { force: true });
    },
  };
}
