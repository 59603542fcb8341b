import dns from 'node:dns';
import net from 'node:net';
import { Agent } from 'undici';

/**
 * The address policy of webhook deliveries: with private destinations refused (REELAY_WEBHOOK_ALLOW_PRIVATE
 * unset or false), a receiver's host must resolve only to public addresses. The connection then goes to
 * the addresses that were checked (a pinned lookup), so a DNS answer that changes between the check and
 * the connect (rebinding) cannot reach an internal service.
 */

const BLOCKED = new net.BlockList();
for (const [net4, prefix] of [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata at 169.254.169.254)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) BLOCKED.addSubnet(net4, prefix, 'ipv4');
for (const [net6, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
  ['100::', 64], // discard-only
] as const) BLOCKED.addSubnet(net6, prefix, 'ipv6');

/** The IPv4 address an IPv6 one carries (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`), if any. */
function embeddedIpv4(ip: string): string | undefined {
  const words = expandIpv6(ip);
  if (!words) return undefined;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zeros = (n: number) => words.slice(0, n).every((w) => w === 0);
  if (zeros(5) && words[5] === 0xffff) return v4(words[6]!, words[7]!);
  if (zeros(6) && (words[6] !== 0 || words[7]! > 1)) return v4(words[6]!, words[7]!);
  if (words[0] === 0x64 && words[1] === 0xff9b && words.slice(2, 6).every((w) => w === 0)) return v4(words[6]!, words[7]!);
  if (words[0] === 0x2002) return v4(words[1]!, words[2]!);
  return undefined;
}

/** The eight 16-bit words of an IPv6 address (a dotted IPv4 tail included), or undefined if it is not one. */
function expandIpv6(ip: string): number[] | undefined {
  if (!net.isIPv6(ip)) return undefined;
  let s = ip.replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    s = `${s.slice(0, -dotted[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const parse = (part: string) => (part ? part.split(':').map((w) => parseInt(w, 16)) : []);
  const h = parse(head);
  const t = tail === undefined ? [] : parse(tail);
  const fill = tail === undefined ? [] : new Array<number>(8 - h.length - t.length).fill(0);
  const words = [...h, ...fill, ...t];
  return words.length === 8 ? words : undefined;
}

/** Whether an address is loopback, private, link-local, unique-local, unspecified, multicast or reserved (IPv4 inside IPv6 included). */
export function isPrivateAddress(ip: string): boolean {
  const family = net.isIP(ip);
  if (family === 4) return BLOCKED.check(ip, 'ipv4');
  if (family !== 6) return true;
  const v4 = embeddedIpv4(ip);
  if (v4 !== undefined && BLOCKED.check(v4, 'ipv4')) return true;
  return BLOCKED.check(ip.replace(/%.*$/, ''), 'ipv6');
}

export class WebhookAddressError extends Error {
  override name = 'WebhookAddressError';
}

export interface ResolvedTarget {
  addresses: Array<{ address: string; family: 4 | 6 }>;
  /** A `lookup` for net/tls.connect that answers only with `addresses`. */
  lookup: net.LookupFunction;
}

/**
 * Resolve a receiver's host once; with `allowPrivate` false, refuse it (WebhookAddressError naming the
 * address) when any address it resolves to is private. DNS failures are thrown as they come (retryable).
 */
export async function resolveWebhookHost(hostname: string, { allowPrivate }: { allowPrivate: boolean }): Promise<ResolvedTarget> {
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  const literal = net.isIP(host);
  const addresses: ResolvedTarget['addresses'] = literal
    ? [{ address: host, family: literal as 4 | 6 }]
    : (await dns.promises.lookup(host, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family as 4 | 6 }));
  if (!addresses.length) throw new Error(`${host} resolves to no address`);
  if (!allowPrivate) {
    const refused = addresses.find((a) => isPrivateAddress(a.address));
    if (refused) {
      throw new WebhookAddressError(
        `webhook host ${host} resolves to ${refused.address}, a private, loopback or otherwise non-public address: refused (REELAY_WEBHOOK_ALLOW_PRIVATE is off)`,
      );
    }
  }
  const lookup: net.LookupFunction = (_name, options, callback) => {
    const opts = (typeof options === 'object' && options ? options : {}) as dns.LookupOptions;
    const fitting = opts.family === 4 || opts.family === 6 ? addresses.filter((a) => a.family === opts.family) : addresses;
    const list = fitting.length ? fitting : addresses;
    if (opts.all) (callback as unknown as (err: null, list: dns.LookupAddress[]) => void)(null, list);
    else callback(null, list[0]!.address, list[0]!.family);
  };
  return { addresses, lookup };
}

/** An HTTP agent that connects only to a resolved target's addresses, whatever host name a request names (TLS still checks that name). */
export function pinnedAgent(target: ResolvedTarget, timeouts: { connectMs: number; answerMs: number }): Agent {
  return new Agent({ connect: { lookup: target.lookup, timeout: timeouts.connectMs }, headersTimeout: timeouts.answerMs, bodyTimeout: timeouts.answerMs });
}
