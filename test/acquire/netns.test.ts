// End to end in a network namespace made for the test: 169.254.169.254 is added to its loopback,
// an EC2-like metadata service (IMDSv2) listens there on port 80, and the built kindling runs inside
// the namespace with -platform aws and no address injected: it reaches the metadata service exactly
// where a real EC2 instance would. fetch-offline signals neednet first, then fetch writes the cache.
// The user data merges an s3:// config: the binary must take the IAM role's credentials from that
// same 169.254.169.254 (only the S3 endpoint is injected, AWS's hostnames do not resolve here) and
// sign the GET with them; the S3 stand-in (s3-server.mjs) listens on 127.0.0.1:9000 in the namespace.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxEnv, scratch } from '../providers/helpers.js';

const NS = `kindling-acq-${process.pid}`;
const hasIp = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].some((p) => existsSync(p));
const canRun = process.getuid?.() === 0 && hasIp;
let bin = '';
let server: ChildProcess | undefined;
let s3: ChildProcess | undefined;
let s3Log = '';
let nsCreated = false;

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' });
}

function inNs(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number; out: string }> {
  return new Promise((resolve) => {
    const c = spawn('ip', ['netns', 'exec', NS, cmd, ...args], { env, timeout: 60_000 });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (out += d.toString()));
    c.on('close', (code) => resolve({ status: code ?? -1, out }));
  });
}

describe.runIf(canRun)('aws in a network namespace, metadata at 169.254.169.254:80', () => {
  const dir = scratch('kindling-netns-');
  beforeAll(async () => {
    bin = join(dir, 'kindling');
    execFileSync(process.execPath, ['scripts/build.mjs', '--out', bin], { stdio: 'pipe' });
    ip('netns', 'add', NS);
    nsCreated = true;
    ip('netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up');
    ip('netns', 'exec', NS, 'ip', 'addr', 'add', '169.254.169.254/32', 'dev', 'lo');
    writeFileSync(
      join(dir, 'user-data'),
      '{"ignition":{"version":"3.4.0","config":{"merge":[{"source":"s3://netns-bucket/merge.ign"}]}},"storage":{"files":[{"path":"/etc/from-imds","contents":{"source":"data:,netns"}}]}}',
    );
    writeFileSync(join(dir, 'merge.ign'), '{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/from-s3","contents":{"source":"data:,s3"}}]}}');
    const started = (p: ChildProcess, what: string) =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${what} did not start`)), 10_000);
        p.stdout!.on('data', (d: Buffer) => {
          if (d.toString().includes('ready')) {
            clearTimeout(t);
            resolve();
          }
        });
        p.once('exit', (code) => reject(new Error(`${what} exited ${code}`)));
      });
    server = spawn('ip', ['netns', 'exec', NS, process.execPath, join(__dirname, 'imds-server.mjs'), '169.254.169.254', '80', join(dir, 'user-data')], { stdio: ['ignore', 'pipe', 'inherit'] });
    await started(server, 'metadata server');
    s3 = spawn('ip', ['netns', 'exec', NS, process.execPath, join(__dirname, 's3-server.mjs'), '127.0.0.1', '9000', join(dir, 'merge.ign')], { stdio: ['ignore', 'pipe', 'inherit'] });
    s3.stdout!.on('data', (d: Buffer) => (s3Log += d.toString()));
    await started(s3, 'S3 stand-in');
  }, 120_000);

  afterAll(() => {
    if (server && server.exitCode === null) server.kill('SIGTERM');
    if (s3 && s3.exitCode === null) s3.kill('SIGTERM');
    if (nsCreated) {
      try {
        ip('netns', 'del', NS);
      } catch {
        /* already gone */
      }
    }
  });

  it('fetch-offline -> neednet, fetch -> cache from the metadata service', async () => {
    const env = sandboxEnv(dir, { KINDLING_S3_ENDPOINT: 'http://127.0.0.1:9000' });
    writeFileSync(join(dir, 'cmdline'), 'flatcar.first_boot=detected flatcar.oem.id=ec2\n');
    const args = (stage: string) => ['-platform', 'aws', '-stage', stage, '-config-cache', join(dir, 'ignition.json'), '-state-file', join(dir, 'state'), '-neednet', join(dir, 'neednet'), '-log-to-stdout', '-fetch-timeout', '20s'];
    const off = await inNs(bin, args('fetch-offline'), env);
    expect(off.status, off.out).toBe(0);
    expect(existsSync(join(dir, 'neednet'))).toBe(true);
    expect(existsSync(join(dir, 'ignition.json'))).toBe(false);
    const on = await inNs(bin, args('fetch'), env);
    expect(on.status, on.out).toBe(0);
    expect(on.out).toContain('http://169.254.169.254/2019-10-01/user-data');
    const c = JSON.parse(readFileSync(join(dir, 'ignition.json'), 'utf8'));
    expect(c.storage.files).toEqual([
      { path: '/etc/from-imds', contents: { source: 'data:,netns' } },
      { path: '/etc/from-s3', contents: { source: 'data:,s3' } },
    ]);
    const st = JSON.parse(readFileSync(join(dir, 'state'), 'utf8'));
    expect(st.fetchedConfigs.slice(-2)).toEqual([
      { kind: 'user', source: 'aws', referenced: false },
      { kind: 'user', source: '/merge.ign', referenced: true },
    ]);
    expect(s3Log).toContain('HEAD /netns-bucket unsigned');
    expect(s3Log).toContain('GET /netns-bucket/merge.ign signed');
    expect(on.out).not.toContain('netns-secret');
    expect(on.out).not.toContain('netns-session');
  });
});
