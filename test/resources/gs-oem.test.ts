// gs:// with a fake GCE metadata server and a fake storage endpoint; oem:// under an OEM root.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fetchResource, openResource, FetchError } from '../../src/resources/index.js';
import { resetGcsTokenCache } from '../../src/resources/gs.js';
import { collect, freePort, sha512, startHttp, type TestServer } from './helpers.js';

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
beforeEach(() => resetGcsTokenCache());

async function fakeMetadata(withAccount = true) {
  const log: string[] = [];
  const s = await startHttp((req, res) => {
    log.push(`${req.url} flavor=${req.headers['metadata-flavor'] ?? '-'}`);
    if (req.headers['metadata-flavor'] !== 'Google') {
      res.writeHead(403);
      return res.end();
    }
    res.setHeader('Metadata-Flavor', 'Google');
    if (!withAccount) {
      res.writeHead(404);
      return res.end();
    }
    if (req.url === '/computeMetadata/v1/instance/service-accounts/default/scopes') return res.end('https://www.googleapis.com/auth/cloud-platform\n');
    if (req.url?.startsWith('/computeMetadata/v1/instance/service-accounts/default/token?scopes=')) {
      return res.end(JSON.stringify({ access_token: 'ya29.TOKEN', expires_in: 3599, token_type: 'Bearer' }));
    }
    res.writeHead(404);
    res.end();
  });
  servers.push(s);
  return { url: s.url, log };
}

async function fakeStorage(objects: Record<string, Buffer | string>, needToken: boolean) {
  const log: { url: string; auth?: string }[] = [];
  const s = await startHttp((req, res) => {
    log.push({ url: req.url!, auth: req.headers.authorization });
    if (needToken && req.headers.authorization !== 'Bearer ya29.TOKEN') {
      res.writeHead(401);
      return res.end('Anonymous caller does not have storage.objects.get access');
    }
    const o = objects[decodeURIComponent(req.url!)];
    if (o === undefined) {
      res.writeHead(404);
      return res.end('No such object');
    }
    res.end(o);
  });
  servers.push(s);
  return { url: s.url, log };
}

describe('gs://', () => {
  it('gets a read-only token from the metadata server and downloads with it', async () => {
    const meta = await fakeMetadata();
    const st = await fakeStorage({ '/my-bucket/dir/config file.ign': '{"ignition":{}}' }, true);
    const got = await fetchResource(
      { source: 'gs://my-bucket/dir/config%20file.ign', verification: { hash: sha512('{"ignition":{}}') } },
      { gcs: { metadataBase: meta.url, storageBase: st.url } },
    );
    expect(got.toString()).toBe('{"ignition":{}}');
    expect(meta.log[0]).toBe('/computeMetadata/v1/instance/service-accounts/default/scopes flavor=Google');
    expect(meta.log[1]).toContain('token?scopes=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fdevstorage.read_only');
    expect(st.log[0]).toEqual({ url: '/my-bucket/dir/config%20file.ign', auth: 'Bearer ya29.TOKEN' });
  });

  it('falls back to anonymous access when there is no metadata server or no service account', async () => {
    const st = await fakeStorage({ '/pub/o': 'public' }, false);
    const nothing = await freePort();
    expect((await fetchResource({ source: 'gs://pub/o' }, { gcs: { metadataBase: `http://127.0.0.1:${nothing}`, storageBase: st.url } })).toString()).toBe('public');
    const meta = await fakeMetadata(false);
    expect((await fetchResource({ source: 'gs://pub/o' }, { gcs: { metadataBase: meta.url, storageBase: st.url } })).toString()).toBe('public');
    expect(st.log.every((l) => l.auth === undefined)).toBe(true);
  });

  it('decompresses gzip and reports denied or missing objects with the URL', async () => {
    const st = await fakeStorage({ '/b/z': gzipSync('zipped') }, false);
    expect((await fetchResource({ source: 'gs://b/z', compression: 'gzip' }, { gcs: { credentials: 'anonymous', storageBase: st.url } })).toString()).toBe('zipped');
    const e = (await fetchResource({ source: 'gs://b/missing' }, { gcs: { credentials: 'anonymous', storageBase: st.url } }).catch((x: unknown) => x)) as FetchError;
    expect(e.notFound).toBe(true);
    expect(e.message).toMatch(/error while reading content from \(gs:\/\/b\/missing\): HTTP 404/);
    const locked = await fakeStorage({ '/b/z': 'x' }, true);
    await expect(fetchResource({ source: 'gs://b/z' }, { gcs: { credentials: 'anonymous', storageBase: locked.url } })).rejects.toThrow(/HTTP 401/);
    await expect(fetchResource({ source: 'gs://b/z' }, { gcs: { credentials: 'metadata', metadataBase: `http://127.0.0.1:${await freePort()}`, storageBase: locked.url } })).rejects.toThrow(/no GCS token/);
  });
});

describe('oem://', () => {
  const root = mkdtempSync(join(tmpdir(), 'kindling-oem-'));
  mkdirSync(join(root, 'sub'));
  writeFileSync(join(root, 'config.ign'), '{"oem":true}');
  writeFileSync(join(root, 'sub', 'file'), 'inner');
  const outside = mkdtempSync(join(tmpdir(), 'kindling-outside-'));
  writeFileSync(join(outside, 'secret'), 'nope');
  symlinkSync(join(outside, 'secret'), join(root, 'escape'));
  symlinkSync('sub/file', join(root, 'inner-link'));

  it('reads files under oemRoot, cleaning the path so it cannot climb out', async () => {
    expect((await fetchResource({ source: 'oem:///config.ign' }, { oemRoot: root })).toString()).toBe('{"oem":true}');
    expect((await fetchResource({ source: 'oem:///sub/../config.ign' }, { oemRoot: root })).toString()).toBe('{"oem":true}');
    expect((await fetchResource({ source: 'oem:///../../../config.ign' }, { oemRoot: root })).toString()).toBe('{"oem":true}');
    expect((await collect(await openResource({ source: 'oem:///inner-link', verification: { hash: sha512('inner') } }, { oemRoot: root }))).toString()).toBe('inner');
  });

  it('refuses symlinks leading outside, missing files (not found), directories, and a missing root', async () => {
    await expect(fetchResource({ source: 'oem:///escape' }, { oemRoot: root })).rejects.toThrow(/outside the OEM partition/);
    const nf = (await fetchResource({ source: 'oem:///absent.ign' }, { oemRoot: root }).catch((e: unknown) => e)) as FetchError;
    expect(nf.notFound).toBe(true);
    await expect(fetchResource({ source: 'oem:///sub' }, { oemRoot: root })).rejects.toThrow(/not a regular file/);
    await expect(fetchResource({ source: 'oem:///config.ign' })).rejects.toThrow(/oemRoot not set/);
  });
});
