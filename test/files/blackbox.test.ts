// Ignition's own blackbox cases for the files stage, replayed against real directories instead of
// loop devices: the `in` ROOT partition's tree is built in a temporary directory, the config is
// parsed (parseConfig) and planned/applied by the files stage with that directory as the root, and
// the `out` ROOT partition's nodes are checked with the conformance harness's rules (contents when
// given, mode when non-zero incl. special bits, owner always, symlink targets, hard-link inodes,
// removed nodes). Negative cases pass when parsing, planning or applying fails.
//
// Selected: cases that need no disks stage (no disks/filesystems/raid/luks in the config, no device
// placeholders, one disk whose partitions other than ROOT are unchanged) and no base-config
// directories or kernel command line. ignition.config merge/replace is rendered by the fetch
// stage's renderConfig (src/acquire/render.ts) before the files stage runs.
// Fixture servers run on random 127.0.0.1 ports; their URLs in configs are rewritten to them.
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:dgram';
import { mkdirSync, symlinkSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { renderConfig } from '../../src/acquire/render.js';
import { emptyState } from '../../src/acquire/state.js';
import { getLogger } from '../../src/log/logger.js';
import { loadCorpus, type CaseSpec, type Corpus, type PartitionSpec } from '../conformance/blackbox/corpus.js';
import { handleFixture, type RequestLogEntry } from '../conformance/blackbox/http-fixture.js';
import { startTftpFixture } from '../conformance/blackbox/tftp-fixture.js';
import { startAdHocServers, substituteServers, type AdHocSet } from '../conformance/blackbox/adhoc-servers.js';
import { createDirectories, createFiles, createLinks } from '../conformance/blackbox/disks.js';
import { checkNodes } from '../conformance/blackbox/check.js';
import { makeStubDir } from '../conformance/blackbox/runner.js';
import { cleanupTemps, runFiles, tempDir } from './helpers.js';

const MAX = '3.7.0-experimental';
/** timeouts.http waits 11 s for a delayed server; nothing legitimate takes longer. */
const RUN_LIMIT_MS = 15_000;
/** Cases that wait on purpose (~50 s together): run only with FILES_BLACKBOX_SLOW=1. */
const SLOW = new Set(['timeouts.http', 'timeouts.http.backoff', 'timeouts.file.create.http.timesout', 'tls.file.create.needsca', 'tls.config.merge.needsca']);
const SLOW_NEGATIVE_TLS = 'tls.fetchfile.http.cabundle';
const runSlow = process.env.FILES_BLACKBOX_SLOW === '1';

/**
 * Known divergences, with the reason; each is reported, and the test fails if one starts passing
 * (so the list cannot rot). Key: "name version".
 */
const KNOWN: Record<string, string> = {};

function rootOf(d: { partitions: PartitionSpec[] }): PartitionSpec | undefined {
  return d.partitions.find((p) => p.label === 'ROOT');
}

function sameOutsideRoot(c: CaseSpec): boolean {
  if (c.in.length !== 1 || c.out.length !== 1) return false;
  const strip = (d: { partitions: PartitionSpec[] }) =>
    JSON.stringify(d.partitions.filter((p) => p.label !== 'ROOT').map(({ startSector: _s, removedNodes: _r, ...rest }) => rest));
  return strip(c.in[0]!) === strip(c.out[0]!);
}

/** Why a case is not replayed here, or undefined when it is. */
export function notForFilesStage(c: CaseSpec): string | undefined {
  let cfg: Record<string, unknown> = {};
  try {
    cfg = JSON.parse(c.config.replace(/\$version/g, '3.6.0')) as Record<string, unknown>;
  } catch {
    // An unparsable config is a config-engine case; still a valid negative case for us.
  }
  const storage = (cfg.storage ?? {}) as Record<string, unknown[] | undefined>;
  for (const k of ['disks', 'filesystems', 'raid', 'luks']) if (storage[k]?.length) return `needs the disks stage (storage.${k})`;
  if (c.mntDevices.length) return 'needs devices';
  if (c.systemConfigDirFiles.length || c.systemRuntimeConfigDirFiles.length || c.systemLocalConfigDirFiles.length) return 'needs base-config directories (fetch stage)';
  if (c.requires.includes('kernel-cmdline-file') || c.requires.includes('cryptsetup')) return 'needs the kernel command line / cryptsetup';
  if (c.config === '') return 'no config (fetch stage)';
  if (!sameOutsideRoot(c)) return 'changes partitions other than ROOT';
  if (!rootOf(c.in[0]!) || !rootOf(c.out[0]!)) return 'no ROOT partition';
  return undefined;
}

interface Servers {
  httpBase: string;
  tftpBase: string;
  http: Server;
  tftp: Socket;
  log: RequestLogEntry[];
}

/** The corpus' HTTP fixture on a random port (redirect locations rewritten to it). */
async function startFixtures(corpus: Corpus): Promise<Servers> {
  const log: RequestLogEntry[] = [];
  let base = '';
  const local: Corpus = { ...corpus, httpServer: { ...corpus.httpServer, resources: corpus.httpServer.resources.map((r) => ({ ...r })) } };
  const http = createServer((req, res) => handleFixture(local, req, res, log));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  for (const r of local.httpServer.resources) if (r.location) r.location = r.location.replace('http://127.0.0.1:8080', base);
  const tftp = await startTftpFixture(corpus, [], 0);
  return { http, tftp, log, httpBase: base, tftpBase: `tftp://127.0.0.1:${(tftp.address() as AddressInfo).port}` };
}

interface Outcome {
  ok: boolean;
  problems: string[];
  /** Why a negative case failed (as it should). */
  failure?: string;
}

async function replay(c: CaseSpec, version: string, s: Servers, stubDir: string): Promise<Outcome> {
  let adhoc: AdHocSet | undefined;
  const root = tempDir('kindling-bb-');
  try {
    let text = c.config.replace(/\$version/g, version).replace(/http:\/\/127\.0\.0\.1:8080/g, s.httpBase).replace(/tftp:\/\/127\.0\.0\.1:69/g, s.tftpBase);
    if (c.usesAdHocServers.length) {
      adhoc = await startAdHocServers(loadCorpus(), c.usesAdHocServers);
      text = substituteServers(text, adhoc.urls);
    }
    const inRoot = rootOf(c.in[0]!)!;
    const usesPasswd = c.config.includes('passwd');
    if (usesPasswd) {
      for (const d of ['home', 'usr/bin', 'usr/sbin', 'usr/lib64', 'etc']) mkdirSync(path.join(root, d), { recursive: true, mode: 0o755 });
      for (const l of ['lib64', 'bin', 'sbin']) if (!existsSync(path.join(root, l))) symlinkSync(`usr/${l}`, path.join(root, l));
    }
    createDirectories(root, inRoot.directories);
    createFiles(root, inRoot.files);
    createLinks(root, inRoot.links);

    const savedPath = process.env.PATH;
    if (usesPasswd) process.env.PATH = `${stubDir}:${savedPath}`;
    const envKeys = c.env.map((kv) => kv.slice(0, kv.indexOf('=')));
    for (const kv of c.env) process.env[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
    let failure: string | undefined;
    const t0 = Date.now();
    try {
      const { config } = parseConfig(text);
      // A bound on every run: a fetch that retries forever must not hang the suite.
      const signal = AbortSignal.timeout(RUN_LIMIT_MS);
      const rendered = await renderConfig(config, { offline: false, state: emptyState(), log: getLogger(), signal });
      await runFiles(rendered, root, { fetchConcurrency: 4, signal });
    } catch (err) {
      failure = (err as Error).message;
    } finally {
      process.env.PATH = savedPath;
      for (const k of envKeys) delete process.env[k];
    }
    if (failure && Date.now() - t0 >= RUN_LIMIT_MS - 100) failure = `gave up after ${RUN_LIMIT_MS} ms: ${failure}`;
    if (c.kind === 'negative') return { ok: failure !== undefined, problems: failure ? [] : ['expected a failure, but every step succeeded'], failure };
    if (failure) return { ok: false, problems: [`failed: ${failure}`] };
    const problems: string[] = [];
    checkNodes(rootOf(c.out[0]!)!, root, problems);
    return { ok: problems.length === 0, problems };
  } finally {
    await adhoc?.close();
  }
}

describe('Ignition blackbox cases (files stage, real directories)', () => {
  const corpus = loadCorpus();
  const selected = corpus.cases.filter((c) => notForFilesStage(c) === undefined);
  let servers: Servers;
  let stubDir: string;

  beforeAll(async () => {
    servers = await startFixtures(corpus);
    stubDir = makeStubDir(path.join(tempDir('kindling-stubs-'), 'bin'));
  });
  afterAll(async () => {
    servers.http.closeAllConnections();
    await new Promise<void>((r) => servers.http.close(() => r()));
    await new Promise<void>((r) => servers.tftp.close(() => r()));
    cleanupTemps();
  });

  it('replays every selected case at every registered version and matches the expected trees', { timeout: 170_000 }, async () => {
    const results: Array<{ key: string; ok: boolean; problems: string[]; failure?: string }> = [];
    const slowSkipped: string[] = [];
    for (const c of selected) {
      if (!runSlow && (SLOW.has(c.name) || (c.name === SLOW_NEGATIVE_TLS && c.kind === 'negative'))) {
        slowSkipped.push(`${c.kind} ${c.name}`);
        continue;
      }
      const versions = c.registeredVersions.filter((v) => v <= MAX);
      // Cases with ad-hoc servers wait on purpose (delays, throttling, TLS failures that are
      // retried until a deadline): they run at one version, the newest stable one they have.
      const stable = versions.filter((v) => !v.includes('experimental'));
      for (const version of c.usesAdHocServers.length ? stable.slice(-1) : versions) {
        const key = `${c.kind} ${c.name} ${version}`;
        const t0 = Date.now();
        const r = await replay(c, version, servers, stubDir);
        if (process.env.BLACKBOX_PROGRESS) process.stderr.write(`${key}: ${r.ok ? 'ok' : 'FAIL'} ${Date.now() - t0} ms\n`);
        results.push({ key, ...r });
      }
    }
    const caseOf = (key: string) => key.slice(0, key.lastIndexOf(' '));
    const cases = new Set(results.map((r) => caseOf(r.key)));
    const passedCases = [...cases].filter((n) => results.filter((r) => caseOf(r.key) === n).every((r) => r.ok));
    const unexpected = results.filter((r) => !r.ok && !KNOWN[r.key]);
    const fixed = results.filter((r) => r.ok && KNOWN[r.key]);
    const lines = [
      `blackbox (files stage, directories): ${selected.length} of ${corpus.cases.length} cases selected, ${results.length} case-version runs`,
      `  passed: ${results.filter((r) => r.ok).length} runs; ${passedCases.length} of ${cases.size} cases pass at every version`,
      ...(slowSkipped.length ? [`  not run (slow on purpose; FILES_BLACKBOX_SLOW=1 runs them): ${slowSkipped.join(', ')}`] : []),
      ...results.filter((r) => r.failure?.startsWith('gave up')).map((r) => `  negative ${r.key} passed only by the time limit: ${r.failure!.slice(0, 160)}`),
      ...results.filter((r) => !r.ok).map((r) => `  FAIL ${r.key}${KNOWN[r.key] ? ` (known: ${KNOWN[r.key]})` : ''}: ${r.problems.slice(0, 3).join('; ')}`),
    ];
    process.stdout.write(lines.join('\n') + '\n');
    expect(results.length).toBeGreaterThan(100);
    expect(unexpected.map((r) => `${r.key}: ${r.problems.join('; ')}`)).toEqual([]);
    expect(fixed.map((r) => r.key)).toEqual([]);
  });
});
