// The replay harness' own parts, without root: fixture servers (on random ports), version
// selection, the passwd stubs, the systemd shim's unit-name decoding.
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadCorpus, FIXTURES } from './corpus.js';
import { startHttpFixture, type RequestLogEntry } from './http-fixture.js';
import { planRuns, type Target } from './select.js';
import { deviceOfUnit } from './systemd-shim.js';
import { startTftpFixture } from './tftp-fixture.js';

const corpus = loadCorpus();

/** GET with node:http (fetch refuses some headers the fixture checks, e.g. Keep-Alive). */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; location?: string }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), location: res.headers.location }));
    })
      .on('error', reject)
      .end();
  });
}

describe('HTTP fixture', () => {
  let base = '';
  let close: () => void = () => undefined;
  const log: RequestLogEntry[] = [];
  beforeAll(async () => {
    const s = await startHttpFixture(corpus, log, 0);
    base = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    close = () => s.close();
  });
  afterAll(() => close());

  const headers = {
    'X-Auth': 'r8ewap98gfh4d8',
    'Keep-Alive': '300',
    Accept: 'application/vnd.coreos.ignition+json;version=3.6.0, */*;q=0.1',
    'Accept-Encoding': 'identity',
    'User-Agent': 'Ignition/2.26.0',
  };

  test('plain, compressed, unknown', async () => {
    expect((await get(`${base}/contents`)).body.toString()).toBe('asdf\nfdsa');
    expect(gunzipSync((await get(`${base}/contents_compressed`)).body).toString()).toBe('asdf\nfdsa');
    expect((await get(`${base}/nope?x=1`)).status).toBe(404);
    expect((await get(`${base}/contents?x=1`)).status).toBe(200);
  });

  test('header rules', async () => {
    expect((await get(`${base}/config_headers`, headers)).status).toBe(200);
    const bad = await get(`${base}/config_headers`, { ...headers, Accept: 'application/vnd.coreos.ignition+json;version=3.3.0, */*;q=0.1' });
    expect(bad.status).toBe(400);
    expect(bad.body.toString()).toMatch(/^Accept header value is incorrect/);
    const { 'X-Auth': _omit, ...noAuth } = headers;
    expect((await get(`${base}/config_headers`, noAuth)).status).toBe(400);
    const redirect = await get(`${base}/config_headers_redirect`);
    expect(redirect.status).toBe(302);
    expect(redirect.location).toBe('http://127.0.0.1:8080/config_headers_redirected');
    expect((await get(`${base}/config_headers_redirected`, { 'X-Auth': 'x' })).status).toBe(400);
    expect((await get(`${base}/config_headers_redirected`)).status).toBe(200);
    const ow = { 'Keep-Alive': '1000', Accept: 'application/json', 'Accept-Encoding': 'identity, compress', 'User-Agent': 'MyUA' };
    expect((await get(`${base}/contents_headers_overwrite`, ow)).status).toBe(200);
    expect((await get(`${base}/contents_headers_overwrite`, { ...ow, 'User-Agent': 'Ignition/2' })).status).toBe(400);
  });
});

/** A minimal TFTP read, with or without the blksize/tsize options. */
function tftpGet(port: number, file: string, options: Record<string, string>): Promise<{ body?: Buffer; error?: string; oack?: string }> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    const chunks: Buffer[] = [];
    let blksize = Number(options.blksize ?? 512);
    let oack: string | undefined;
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error('tftp timeout'));
    }, 5000);
    const done = (r: { body?: Buffer; error?: string }) => {
      clearTimeout(timer);
      sock.close();
      resolve({ ...r, oack });
    };
    sock.on('message', (msg, from) => {
      const op = msg.readUInt16BE(0);
      const ack = (n: number) => sock.send(Buffer.from([0, 4, n >> 8, n & 0xff]), from.port, from.address);
      if (op === 5) return done({ error: msg.subarray(4, msg.length - 1).toString() });
      if (op === 6) {
        oack = msg.subarray(2).toString('latin1');
        const parts = oack.split('\0');
        const i = parts.indexOf('blksize');
        if (i !== -1) blksize = Number(parts[i + 1]);
        return ack(0);
      }
      if (op === 3) {
        const n = msg.readUInt16BE(2);
        chunks[n - 1] = msg.subarray(4);
        ack(n);
        if (msg.length - 4 < blksize) done({ body: Buffer.concat(chunks) });
      }
    });
    const opts = Object.entries(options).flatMap(([k, v]) => [k, v]);
    sock.send(Buffer.concat([Buffer.from([0, 1]), Buffer.from([file, 'octet', ...opts].join('\0') + '\0', 'latin1')]), port, '127.0.0.1');
  });
}

describe('TFTP fixture', () => {
  let port = 0;
  let close: () => void = () => undefined;
  beforeAll(async () => {
    const s = await startTftpFixture(corpus, [], 0);
    port = s.address().port;
    close = () => s.close();
  });
  afterAll(() => close());

  test('contents, config, not found; with and without options', async () => {
    expect((await tftpGet(port, '/contents', {})).body?.toString()).toBe('asdf\nfdsa');
    const cfg = await tftpGet(port, 'my-config', { blksize: '8', tsize: '0' });
    expect(cfg.body?.toString()).toBe(corpus.tftpServer.files.config.body);
    expect(cfg.oack).toContain(`tsize\0${Buffer.byteLength(corpus.tftpServer.files.config.body)}\0`);
    expect((await tftpGet(port, '/asdf', {})).error).toMatch(/no such file/);
  });
});

describe('version selection', () => {
  const kindling: Target = { bin: 'k', flavour: 'kindling', versionText: '', isIgnition: false, knownFailuresFile: '' };
  const ign: Target = { ...kindling, flavour: 'ignition-2.14', isIgnition: true, maxSpec: '3.3.0' };
  test('ci: newest stable accepted version, version-less cases once', () => {
    const saved = { ...process.env };
    delete process.env.BLACKBOX_FILTER;
    delete process.env.BLACKBOX_VERSIONS;
    try {
      const k = planRuns(corpus.cases, kindling);
      expect(k.runs).toHaveLength(189);
      expect(k.runs.find((r) => r.c.name === 'files.create')?.version).toBe('3.6.0');
      expect(k.runs.find((r) => r.c.name === 'files.customperms.pre-#2042-fix')?.version).toBe('3.2.0');
      expect(k.runs.filter((r) => r.version === '')).toHaveLength(corpus.cases.filter((c) => c.configMinVersion === null).length);
      const i = planRuns(corpus.cases, ign);
      expect(i.runs.find((r) => r.c.name === 'files.create')?.version).toBe('3.3.0');
      expect(i.skipped.map((s) => s.c.name)).toEqual(['files.customperms']);
      process.env.BLACKBOX_VERSIONS = 'all';
      expect(planRuns(corpus.cases, kindling).runs).toHaveLength(corpus.cases.reduce((n, c) => n + Math.max(1, c.registeredVersions.length), 0));
      process.env.BLACKBOX_FILTER = '^files\\.create ';
      expect(planRuns(corpus.cases, kindling).runs.map((r) => r.id)).toContain('positive/files.create 3.0.0');
    } finally {
      process.env = saved;
    }
  });
});

describe('passwd stubs', () => {
  test('useradd/groupadd/usermod/userdel append and edit like upstream stubs', () => {
    const root = mkdtempSync('/tmp/bb-stubtest-');
    try {
      mkdirSync(join(root, 'etc'));
      writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\ncore:x:1000:1000::/home/core:/bin/bash\n');
      writeFileSync(join(root, 'etc/group'), 'root:x:0:\ncore:x:1000:\n');
      writeFileSync(join(root, 'etc/shadow'), 'root:*:17331:0:99999:7:::\n');
      writeFileSync(join(root, 'etc/gshadow'), 'root:*::\n');
      const stub = (...args: string[]) => execFileSync(process.execPath, [join(FIXTURES, 'stubs', 'passwd-stub.mjs'), ...args]);
      stub('useradd', '--root', root, '--no-create-home', '--comment', 'Tester', 'tester');
      stub('groupadd', '--root', root, '--gid', '2000', 'grp');
      stub('usermod', '--root', root, '--shell', '/bin/zsh', 'tester');
      expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).toBe('root:x:0:0:root:/root:/bin/bash\ncore:x:1000:1000::/home/core:/bin/bash\ntester:x:1001:1001:Tester:/home/tester:/bin/zsh\n');
      expect(readFileSync(join(root, 'etc/shadow'), 'utf8')).toContain('tester:*:17331:0:99999:7:::\n');
      expect(readFileSync(join(root, 'etc/group'), 'utf8')).toBe('root:x:0:\ncore:x:1000:\ntester:x:1001:\ngrp:x:2000:\n');
      expect(readFileSync(join(root, 'etc/gshadow'), 'utf8')).toBe('root:*::\ntester:!::\ngrp:!::\n');
      stub('userdel', '--root', root, 'tester');
      expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).not.toContain('tester');
      expect(() => stub('useradd', '--root', root, '--uid', 'abc', 'x')).toThrow();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

test('systemd shim decodes device unit names', () => {
  expect(deviceOfUnit('dev-loop1p6.device')).toBe('/dev/loop1p6');
  expect(deviceOfUnit('dev-disk-by\\x2dlabel-ROOT.device')).toBe('/dev/disk/by-label/ROOT');
  expect(deviceOfUnit('foo.service')).toBeUndefined();
});
