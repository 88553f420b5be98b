// Which proxy serves a URL: Go's golang.org/x/net/http/httpproxy rules, as Ignition configures
// them from ignition.proxy (never from the environment):
//  - https URLs use httpsProxy, http URLs httpProxy; an empty value means no proxy;
//  - "localhost" and loopback IPs are never proxied;
//  - noProxy entries (lower-cased, trimmed, empty ones skipped): "*" matches everything; a CIDR
//    matches IPs in it; an IP (optionally ":port") matches that IP; a domain "foo.com" matches
//    foo.com and its subdomains, ".foo.com" / "*.foo.com" only subdomains; "name:port" restricts
//    the match to that port;
//  - a proxy value without a known scheme (http, https, socks5) is read as http://<value>.
import { BlockList, isIP } from 'node:net';
import type { Proxy } from '../config/types.js';

interface DomainMatch {
  host: string; // always starts with "."
  port: string;
  matchHost: boolean;
}
interface IpMatch {
  ip: string;
  port: string;
}

export interface ProxyRules {
  http?: URL;
  https?: URL;
  all: boolean;
  cidrs: BlockList;
  ips: IpMatch[];
  domains: DomainMatch[];
}

function parseProxyUrl(value: string | undefined): URL | undefined {
  if (!value) return undefined;
  try {
    const u = new URL(value);
    if (u.protocol === 'http:' || u.protocol === 'https:' || u.protocol === 'socks5:') return u;
  } catch {
    /* fall through to http:// */
  }
  try {
    return new URL('http://' + value);
  } catch {
    throw new Error(`invalid proxy address "${value}"`);
  }
}

function splitHostPort(s: string): [string, string] | undefined {
  // Go's net.SplitHostPort: "[v6]:port" or "host:port" with exactly one colon.
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end === -1 || s[end + 1] !== ':') return undefined;
    return [s.slice(1, end), s.slice(end + 2)];
  }
  const i = s.lastIndexOf(':');
  if (i === -1 || s.indexOf(':') !== i) return undefined;
  return [s.slice(0, i), s.slice(i + 1)];
}

function normIp(ip: string): string {
  // Compare IPv4-mapped IPv6 and IPv4 alike, as Go's net.IP.Equal does.
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return (m ? m[1]! : ip).toLowerCase();
}

// A config's proxy section is compiled once, not for every request (1,000 fetches: ~10 ms).
const compiled = new WeakMap<Proxy, ProxyRules>();
let compiledNone: ProxyRules | undefined;

/** The rules of a proxy section (the same object for the same section: treat it as read-only). */
export function compileProxy(p: Proxy | undefined): ProxyRules {
  if (!p) return (compiledNone ??= compileProxyRules(undefined));
  let r = compiled.get(p);
  if (!r) {
    r = compileProxyRules(p);
    compiled.set(p, r);
  }
  return r;
}

function compileProxyRules(p: Proxy | undefined): ProxyRules {
  const rules: ProxyRules = {
    http: parseProxyUrl(p?.httpProxy),
    https: parseProxyUrl(p?.httpsProxy),
    all: false,
    cidrs: new BlockList(),
    ips: [],
    domains: [],
  };
  for (const raw of (p?.noProxy ?? []).join(',').split(',')) {
    const e = raw.trim().toLowerCase();
    if (!e) continue;
    if (e === '*') {
      rules.all = true;
      break;
    }
    const slash = e.indexOf('/');
    if (slash !== -1) {
      const net = e.slice(0, slash);
      const bits = Number(e.slice(slash + 1));
      const fam = isIP(net);
      if (fam && Number.isInteger(bits)) {
        rules.cidrs.addSubnet(net, bits, fam === 6 ? 'ipv6' : 'ipv4');
        continue;
      }
    }
    let host = e;
    let port = '';
    const hp = splitHostPort(e);
    if (hp) {
      [host, port] = hp;
      if (!host) continue;
    }
    if (isIP(host)) {
      rules.ips.push({ ip: normIp(host), port });
      continue;
    }
    if (!host) continue;
    if (host.startsWith('*.')) host = host.slice(1);
    let matchHost = false;
    if (!host.startsWith('.')) {
      matchHost = true;
      host = '.' + host;
    }
    rules.domains.push({ host, port, matchHost });
  }
  return rules;
}

/** The proxy for this URL, or undefined for a direct connection. */
export function proxyFor(target: URL, rules: ProxyRules): URL | undefined {
  const proxy = target.protocol === 'https:' ? rules.https : target.protocol === 'http:' ? rules.http : undefined;
  if (!proxy) return undefined;
  if (rules.all) return undefined;
  let host = target.hostname.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  if (host === 'localhost') return undefined;
  const fam = isIP(host);
  if (fam) {
    const ip = normIp(host);
    if (fam === 4 ? ip.startsWith('127.') : ip === '::1') return undefined;
    const ipFam = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
    if (rules.cidrs.check(ip, ipFam)) return undefined;
    for (const m of rules.ips) if (m.ip === ip && (m.port === '' || m.port === port)) return undefined;
  }
  for (const m of rules.domains) {
    if (host.endsWith(m.host) || (m.matchHost && host === m.host.slice(1))) {
      if (m.port === '' || m.port === port) return undefined;
    }
  }
  return proxy;
}
