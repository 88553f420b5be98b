// The HTTP client the providers use for metadata services. It is the resources layer's httpCall
// (node:http, Ignition's retry loop), loaded lazily so that platforms which never touch the network
// (file, qemu, metal) never load the HTTP stack. Keeping this seam in one file also lets the
// fetch-offline stage refuse the network in one place.
import type { HeaderInput } from '../resources/http.js';
import { NeedNetError } from './errors.js';

export interface MetadataRequest {
  method?: string;
  headers?: HeaderInput;
  body?: string;
  /** Statuses retried besides >= 500 (Azure's 404/410/429, Oracle's 429). */
  retryCodes?: number[];
  /** 404 means "no config" here: resolve null instead of throwing. */
  notFoundAsNull?: boolean;
  /** Stop after this many attempts (AWS's token PUT, which may be blocked on IMDSv1-only hosts). */
  maxAttempts?: number;
  /** Seconds over all attempts. */
  httpTotal?: number;
  /** Seconds to wait for headers per attempt (Ignition's default 10). */
  httpResponseHeaders?: number;
  signal?: AbortSignal;
  backoff?: { initialMs?: number; maxMs?: number };
  /** Statuses returned rather than thrown. */
  okStatuses?: number[];
}

export interface MetadataResponse {
  status: number;
  body: Buffer;
}

export type HttpClient = (url: string, req?: MetadataRequest) => Promise<MetadataResponse | null>;

/** The real client; `offline` makes every call fail with NeedNetError before any import. */
export function makeHttpClient(offline: boolean): HttpClient {
  return async (url, req = {}) => {
    if (offline) throw new NeedNetError(`fetching ${url}`);
    const { httpCall } = await import(/* webpackMode: "eager" */ '../resources/http.js');
    const r = await httpCall(url, {
      method: req.method ?? 'GET',
      headers: req.headers,
      body: req.body,
      retryCodes: req.retryCodes,
      notFoundAsNull: req.notFoundAsNull ? true : undefined,
      maxAttempts: req.maxAttempts,
      httpTotal: req.httpTotal,
      httpResponseHeaders: req.httpResponseHeaders,
      signal: req.signal,
      backoff: req.backoff,
      okStatuses: req.okStatuses,
    } as Parameters<typeof httpCall>[1] & { notFoundAsNull: true });
    return r === null ? null : { status: r.status, body: r.body };
  };
}
