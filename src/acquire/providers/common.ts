// Shared by the metadata-service providers: one GET of the user data with Ignition's retry loop,
// bounded by -fetch-timeout, with the provider's own headers and "404 means no config" rule.
import { endpoint } from '../env.js';
import type { HeaderInput } from '../../resources/http.js';
import type { ProviderContext } from './types.js';

export interface UserDataGet {
  headers?: HeaderInput;
  /** Ignition's `err != nil && err != resource.ErrNotFound`: 404 is "no config". */
  notFoundIsEmpty: boolean;
  retryCodes?: number[];
  method?: string;
}

export async function getUserData(ctx: ProviderContext, url: string, o: UserDataGet): Promise<Buffer | null> {
  const r = await ctx.http(endpoint(ctx.env, url), {
    method: o.method,
    headers: o.headers,
    retryCodes: o.retryCodes,
    notFoundAsNull: o.notFoundIsEmpty,
    httpTotal: ctx.httpTotal,
    signal: ctx.signal,
    backoff: ctx.env.backoff,
  });
  return r === null ? null : r.body;
}

/** Base64 as Go's StdEncoding decodes it: strict alphabet, padding required; white space trimmed. */
export function decodeBase64Strict(data: Buffer, what: string): Buffer {
  const text = data.toString('latin1').trim();
  if (text === '') return Buffer.alloc(0);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new Error(`${what} is not valid base64`);
  }
  return Buffer.from(text, 'base64');
}

/** A JSON document from a metadata service, or undefined on 404. */
export async function getJson<T>(ctx: ProviderContext, url: string, headers?: HeaderInput): Promise<T | undefined> {
  const r = await ctx.http(endpoint(ctx.env, url), { headers, notFoundAsNull: true, httpTotal: ctx.httpTotal, signal: ctx.signal, backoff: ctx.env.backoff });
  if (r === null) return undefined;
  return JSON.parse(r.body.toString('utf8')) as T;
}

/** A text value from a metadata service, trimmed, or undefined on 404. */
export async function getText(ctx: ProviderContext, url: string, headers?: HeaderInput): Promise<string | undefined> {
  const r = await ctx.http(endpoint(ctx.env, url), { headers, notFoundAsNull: true, httpTotal: ctx.httpTotal, signal: ctx.signal, backoff: ctx.env.backoff });
  return r === null ? undefined : r.body.toString('utf8').trim();
}
