// VMware: the guestinfo variables guestinfo.ignition.config.data and
// guestinfo.ignition.config.data.encoding ("", "base64"/"b64", "gzip"/"gz",
// "gzip+base64"/"gz+base64"/"gzip+b64"/"gz+b64"), read through open-vm-tools' `vmware-rpctool
// "info-get guestinfo.KEY"` (Ignition speaks the backdoor port itself; a Node process cannot).
// Outside a VMware VM (no rpctool, or it fails to reach the hypervisor) this is "no provider",
// as Ignition's vmcheck.IsVirtualWorld. Values may be injected (KINDLING_VMWARE_GUESTINFO) for
// tests. When the guestinfo keys are unset, the same keys are looked up among the properties of
// the OVF environment (guestinfo.ovfEnv, set by vApp deployments), as Ignition does.
import { gunzipSync } from 'node:zlib';
import { KindlingError } from '../../errors.js';
import { run } from '../../system/exec.js';
import { NoProviderError } from '../errors.js';
import { decodeBase64Strict } from './common.js';
import type { Provider, ProviderContext } from './types.js';

export function decodeGuestinfo(data: string, encoding: string): Buffer {
  switch (encoding) {
    case '':
      return Buffer.from(data, 'utf8');
    case 'b64':
    case 'base64':
      return decodeBase64Strict(Buffer.from(data), 'guestinfo.ignition.config.data');
    case 'gz':
    case 'gzip':
      return gunzipSync(Buffer.from(data, 'latin1'));
    case 'gz+base64':
    case 'gzip+base64':
    case 'gz+b64':
    case 'gzip+b64':
      return gunzipSync(decodeBase64Strict(Buffer.from(data), 'guestinfo.ignition.config.data'));
    default:
      throw new KindlingError('platform', `unsupported guestinfo.ignition.config.data.encoding "${encoding}"`);
  }
}

async function guestinfo(ctx: ProviderContext, key: string): Promise<string> {
  const injected = ctx.env.vmwareGuestinfo;
  // guestinfo keys are case-insensitive (VMware writes guestinfo.ovfEnv, Ignition asks for ovfenv).
  if (injected) return Object.entries(injected).find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1] ?? '';
  let r;
  try {
    r = await run('vmware-rpctool', [`info-get guestinfo.${key}`], { allowFailure: true, timeout: 10_000 });
  } catch {
    throw new NoProviderError('not running under VMware (vmware-rpctool is not available)');
  }
  if (r.exitCode === -1) throw new NoProviderError('not running under VMware (vmware-rpctool could not start)');
  // rpctool exits 1 with "No value found" for an unset key.
  if (r.exitCode !== 0) {
    if (/no value found/i.test(r.stdout + r.stderr)) return '';
    throw new NoProviderError(`not running under VMware (vmware-rpctool: ${(r.stderr || r.stdout).trim()})`);
  }
  return r.stdout;
}

/** The oe:key/oe:value properties of an OVF environment document. */
export function ovfProperties(xml: string): Record<string, string> {
  const out: Record<string, string> = {};
  const unescape = (v: string) =>
    v.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#10;/g, '\n').replace(/&amp;/g, '&');
  for (const m of xml.matchAll(/<(?:[\w-]+:)?Property\b([^>]*)\/?>/g)) {
    const attrs = m[1]!;
    const key = /(?:[\w-]+:)?key="([^"]*)"/.exec(attrs)?.[1];
    const value = /(?:[\w-]+:)?value="([^"]*)"/.exec(attrs)?.[1];
    if (key !== undefined && value !== undefined) out[unescape(key)] = unescape(value);
  }
  return out;
}

const PROPERTY_ELEMENT = /<((?:[\w.-]+:)?Property)\b((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(?:\/>|>[\s\S]*?<\/\1\s*>)/g;
const KEY_ATTRIBUTE = /(?:^|\s)(?:[\w.-]+:)?key\s*=\s*(?:"([^"]*)"|'([^']*)')/;

/**
 * The OVF environment document without the Property elements whose key is one of `keys`, and
 * whether any was removed (when none is, the text is returned untouched, as Ignition does). The
 * rest of the text is kept byte for byte. Every Property element counts, whatever its prefix or
 * its key attribute's (ovfProperties reads them all, so all must go); Ignition's
 * DeleteOvfProperties only removes those in the OVF environment namespace.
 */
export function deleteOvfProperties(xml: string, keys: readonly string[]): { xml: string; removed: boolean } {
  const unescape = (v: string) =>
    v.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#10;/g, '\n').replace(/&amp;/g, '&');
  let removed = false;
  const out = xml.replace(PROPERTY_ELEMENT, (element: string, _name: string, attrs: string) => {
    const m = KEY_ATTRIBUTE.exec(attrs);
    const key = m ? unescape(m[1] ?? m[2] ?? '') : undefined;
    if (key === undefined || !keys.includes(key)) return element;
    removed = true;
    return '';
  });
  return removed ? { xml: out, removed } : { xml, removed };
}

export const vmware: Provider = {
  name: 'vmware',
  source: 'guestinfo.ignition.config.data (+ .encoding) via vmware-rpctool',
  network: false,
  async fetch(ctx) {
    let ovf: Record<string, string> = {};
    const env = await guestinfo(ctx, 'ovfenv');
    if (env.trim()) ovf = ovfProperties(env);
    const data = (await guestinfo(ctx, 'ignition.config.data')) || ovf['guestinfo.ignition.config.data'] || '';
    const encoding = ((await guestinfo(ctx, 'ignition.config.data.encoding')) || ovf['guestinfo.ignition.config.data.encoding'] || '').trim();
    if (data === '') return null;
    return decodeGuestinfo(data, encoding);
  },
};
