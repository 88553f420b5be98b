import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { decodeDataUrl } from '../../src/resources/data.js';
import { fetchResource, openResource, FetchError, needsNetwork } from '../../src/resources/index.js';
import { collect, sha256, sha512 } from './helpers.js';

describe('data: URLs decoded as Ignition (vincent-petithory/dataurl) decodes them', () => {
  it('percent-decodes plain data, keeping "+" and other URL characters', () => {
    expect(decodeDataUrl('data:,example%20file%0A').data.toString()).toBe('example file\n');
    expect(decodeDataUrl('data:,a+b').data.toString()).toBe('a+b');
    expect(decodeDataUrl("data:,!$&'()*+;=:@/?-._~").data.toString()).toBe("!$&'()*+;=:@/?-._~");
    expect(decodeDataUrl('data:,').data.length).toBe(0);
  });

  it('decodes base64 with media types and parameters', () => {
    const u = decodeDataUrl('data:text/plain;charset=utf-8;base64,aGVsbG8gd29ybGQ=');
    expect(u.data.toString()).toBe('hello world');
    expect(u.mediaType).toBe('text/plain');
    expect(u.params.charset).toBe('utf-8');
    expect(decodeDataUrl('data:;base64,AAEC/w==').data).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(decodeDataUrl('data:application/octet-stream;base64,').data.length).toBe(0);
    expect(decodeDataUrl('data:x-custom/thing,ok').data.toString()).toBe('ok');
    expect(decodeDataUrl('data:text/plain;name="a b";base64,YQ==').params.name).toBe('a b');
    // The default media type
    expect(decodeDataUrl('data:,x').mediaType).toBe('text/plain');
    expect(decodeDataUrl('data:,x').params.charset).toBe('US-ASCII');
  });

  it.each([
    ['data:', 'missing comma'],
    ['data:text/plain', 'incomplete media type'],
    ['data:text', 'missing media type slash'],
    ['data:text,x', 'invalid character for media type'],
    ['data:foo/bar,x', 'invalid media type'],
    ['data:text/plain;foo,x', 'expected base64, got foo'],
    ['data:,a b', 'invalid data character'],
    ['data:,a#b', 'invalid data character'],
    ['data:,100%', 'unexpected end of unescape sequence'],
    ['data:,%zz', 'invalid char'],
    ['data:,é', 'invalid data character'],
    ['data:;base64,aGVsbG8', 'illegal base64'], // unpadded: Go's StdEncoding refuses it
    ['data:;base64,aGV sbG8=', 'invalid data character'],
    ['data:;base64,aG-_', 'invalid data character'], // URL-safe alphabet is not accepted
    ['data:;base64,a=bc', 'illegal base64'],
  ])('rejects %s (%s)', (url, why) => {
    expect(() => decodeDataUrl(url)).toThrow(why);
  });
});

describe('fetchResource / openResource on data: URLs', () => {
  it('returns the bytes, verified against sha512 and sha256', async () => {
    const body = 'example file\n';
    expect((await fetchResource({ source: 'data:,example%20file%0A', verification: { hash: sha512(body) } })).toString()).toBe(body);
    expect((await fetchResource({ source: 'data:,example%20file%0A', verification: { hash: sha256(body) } })).toString()).toBe(body);
  });

  it('fails on a wrong hash, naming both sums and no contents', async () => {
    const err = await fetchResource({ source: 'data:,secret%20stuff', verification: { hash: sha512('other') } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FetchError);
    const msg = (err as Error).message;
    expect(msg).toContain(sha512('other').slice(7));
    expect(msg).toContain(sha512('secret stuff').slice(7));
    expect(msg).not.toContain('secret');
    expect((err as FetchError).kind).toBe('fetch');
  });

  it('gunzips compression "gzip" and verifies the DECOMPRESSED contents', async () => {
    const text = 'asdf\nfdsa';
    const gz = gzipSync(Buffer.from(text));
    const source = 'data:;base64,' + gz.toString('base64');
    expect((await fetchResource({ source, compression: 'gzip', verification: { hash: sha512(text) } })).toString()).toBe(text);
    await expect(fetchResource({ source, compression: 'gzip', verification: { hash: sha512(gz) } })).rejects.toThrow(/sha512 of the contents/);
    const s = await openResource({ source, compression: 'gzip', verification: { hash: sha512(text) } });
    expect((await collect(s)).toString()).toBe(text);
  });

  it('refuses unsupported compression (xz is not part of Ignition) and bad hash specs', async () => {
    await expect(fetchResource({ source: 'data:,x', compression: 'xz' })).rejects.toThrow(/unsupported compression "xz"/);
    await expect(fetchResource({ source: 'data:,x', verification: { hash: 'md5-00' } })).rejects.toThrow(/unsupported verification hash function "md5"/);
    await expect(fetchResource({ source: 'data:,x', verification: { hash: 'sha512-abc' } })).rejects.toThrow(/128 hex digits/);
  });

  it('reports a corrupt gzip stream as a fetch error', async () => {
    const err = await fetchResource({ source: 'data:,not%20gzip', compression: 'gzip' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FetchError);
    expect((err as Error).message).toMatch(/gzip/);
  });

  it('treats an empty source as empty contents, unverified (Ignition\'s scheme "")', async () => {
    expect((await fetchResource({ source: '' })).length).toBe(0);
    expect((await fetchResource({ source: '', verification: { hash: sha512('x') } })).length).toBe(0);
    expect((await collect(await openResource({}))).length).toBe(0);
  });

  it('refuses unknown schemes with a sentence listing the supported ones', async () => {
    await expect(fetchResource({ source: 'ftp://example.com/x' })).rejects.toThrow(/unsupported source scheme "ftp"; supported schemes: http, https, tftp, s3, arn, gs, data, oem/);
    await expect(fetchResource({ source: 'file:///etc/passwd' })).rejects.toThrow(/unsupported source scheme "file"/);
    await expect(fetchResource({ source: 'relative/path' })).rejects.toThrow(/not a URL/);
  });

  it('decides which URLs need the network', () => {
    expect(needsNetwork('data:,x')).toBe(false);
    expect(needsNetwork('DATA:,x')).toBe(false);
    expect(needsNetwork('oem:///config.ign')).toBe(false);
    expect(needsNetwork('')).toBe(false);
    for (const u of ['http://x/', 'https://x/', 'tftp://x/a', 's3://b/k', 'arn:aws:s3:::b/k', 'gs://b/o']) expect(needsNetwork(u)).toBe(true);
  });
});

describe('verdicts of the real Ignition 2.14 (Debian binary, fetch stage merging a data: URL)', () => {
  // Measured on this machine: each URL was a config.merge source; "ok" means Ignition fetched and
  // merged it, otherwise the text is Ignition's error message.
  const CFG = '{"ignition":{"version":"3.3.0"}}';
  const B64 = Buffer.from(CFG).toString('base64');
  const PCT = encodeURIComponent(CFG);
  const cases: [string, string][] = [
    [`data:,${PCT}`, 'ok'],
    [`data:;base64,${B64}`, 'ok'],
    [`data:;base64,${B64.replace(/=+$/, '')}`, 'illegal base64 data at input byte 40'],
    [`data:Text/plain;base64,${B64}`, 'invalid media type'],
    [`data:text/plain;charset=utf-8;base64,${B64}`, 'ok'],
    [`data:application/json,${PCT}`, 'ok'],
    ['data:,%7B%22ignition%22:%7B%22version%22:%223.3.0%22%7D%7D', 'ok'],
    [`data:text/plain;foo=bar;base64,${B64}`, 'ok'],
    [`data:text/plain;foo;base64,${B64}`, 'invalid character for parameter attribute'],
    [`data:,${CFG}`, 'invalid data character'],
    ['data:,%7B%22ignition%22:%7B%22version%22:%223.3.0%22%7D%7D%', 'rfc2396: unexpected end of unescape sequence'],
    [`data:;base64,${B64}%0A`, 'invalid data character'],
    ['DATA:,%7B%22ignition%22:%7B%22version%22:%223.3.0%22%7D%7D', 'missing data prefix'],
    ['data:x-foo/bar,%7B%22ignition%22:%7B%22version%22:%223.3.0%22%7D%7D', 'ok'],
    ['data:text/plain;a=%41,%7B%22ignition%22:%7B%22version%22:%223.3.0%22%7D%7D', 'ok'],
  ];
  it.each(cases)('%s → %s', async (source, verdict) => {
    const r = await fetchResource({ source }).then(
      (b) => (b.toString() === CFG ? 'ok' : `wrong contents ${b.toString()}`),
      (e: Error) => e.message,
    );
    if (verdict === 'ok') expect(r).toBe('ok');
    else expect(r).toMatch(new RegExp(`invalid data URL: ${verdict.replace(/[()]/g, '\\$&')}$`));
  });
});

