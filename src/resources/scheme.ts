// URL schemes, without the fetching machinery: the acquire stages decide "local or network?"
// before anything is fetched, and a fetch-offline that fetches nothing (a fw_cfg config without
// remote parts) then never loads resources/index.ts with node:crypto, node:stream and node:zlib
// (docs/startup.md). index.ts re-exports these.

const LOCAL_SCHEMES = new Set(['data', 'oem', '']);

/** The URL's scheme, lower-cased ("" when there is none). */
export function schemeOf(source: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(source);
  return m ? m[1]!.toLowerCase() : '';
}

/** Does fetching this URL need the network? (fetch-offline uses this to decide on neednet.) */
export function needsNetwork(source: string): boolean {
  return !LOCAL_SCHEMES.has(schemeOf(source));
}

export const SUPPORTED_SCHEMES = ['http', 'https', 'tftp', 's3', 'arn', 'gs', 'data', 'oem'] as const;
