// `kindling plan --fetch`: child configs (ignition.config.merge) are fetched and verified as the
// fetch stage would, so the plan covers the merged config; without --fetch nothing is fetched and
// the plan says so.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kindling } from './helpers.js';

const child = JSON.stringify({ ignition: { version: '3.4.0' }, storage: { files: [{ path: '/etc/from-child', contents: { source: 'data:,hi' } }] } });
let server: Server;
let hits = 0;
const dir = mkdtempSync(join(tmpdir(), 'kindling-plan-fetch-'));
let parent = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    hits++;
    if (req.url === '/child.ign') res.end(child);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  parent = join(dir, 'parent.ign');
  const hash = 'sha512-' + createHash('sha512').update(child).digest('hex');
  writeFileSync(
    parent,
    JSON.stringify({
      ignition: { version: '3.4.0', config: { merge: [{ source: `http://127.0.0.1:${port}/child.ign`, verification: { hash } }] } },
      storage: { files: [{ path: '/etc/from-parent', contents: { source: 'data:,x' } }] },
    }),
  );
});
afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

const filePaths = (stdout: string): string[] =>
  JSON.parse(stdout)
    .stages.find((s: { stage: string }) => s.stage === 'files')
    .ops.filter((o: { kind: string }) => o.kind === 'file.write')
    .map((o: { details: { path: string } }) => o.details.path);

describe('kindling plan --fetch', () => {
  it('without --fetch, fetches nothing and warns at the merge entry', async () => {
    const r = await kindling(['plan', parent, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(hits).toBe(0);
    expect(filePaths(r.stdout)).toEqual(['/etc/from-parent']);
    expect(JSON.parse(r.stdout).warnings.map((w: { location?: { pointer: string } }) => w.location?.pointer)).toContain('/ignition/config/merge/0/source');
  });
  it('with --fetch, plans the merged config', async () => {
    const r = await kindling(['plan', parent, '--json', '--fetch']);
    expect(r.code, r.stderr).toBe(0);
    expect(hits).toBeGreaterThan(0);
    expect(filePaths(r.stdout).sort()).toEqual(['/etc/from-child', '/etc/from-parent']);
  });
});
