import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * Is an IP address one that a request made on a user's behalf may reach? Only global unicast
 * addresses are; everything on IANA's special-purpose registries that is not globally reachable
 * (loopback, private, link-local, CGNAT, documentation, benchmarking, multicast, reserved, ULA,
 * site-local...) is refused. IPv6 forms that carry an IPv4 address (IPv4-mapped, IPv4-compatible,
 * NAT64 64:ff9b::/96, 6to4, Teredo) are judged by the IPv4 address inside them, so
 * `[::ffff:127.0.0.1]` or `[2002:7f00:1::]` is loopback like 127.0.0.1.
 *
 * Ranges are matched with node:net BlockList, one list per named range so a refusal can say why.
 */

export interface AddressClass {
  /** true only for global unicast addresses */
  global: boolean;
  /** why it is not global ('loopback', 'private', 'IPv4-mapped 127.0.0.1: loopback', ...); '' when global */
  reason: string;
}

type Range = readonly [cidr: string, name: string];

const IPV4_SPECIAL: readonly Range[] = [
  ['0.0.0.0/8', 'unspecified ("this network")'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'shared address space (CGNAT)'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'IETF protocol assignments'],
  ['192.0.2.0/24', 'documentation (TEST-NET-1)'],
  ['192.88.99.0/24', '6to4 relay anycast'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation (TEST-NET-2)'],
  ['203.0.113.0/24', 'documentation (TEST-NET-3)'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'], // 255.255.255.255 (broadcast) included
];

/** IPv6 ranges outside 2000::/3 are all refused; these only name the common ones. */
const IPV6_OUTSIDE_GLOBAL: readonly Range[] = [
  ['64:ff9b:1::/48', 'local-use NAT64'],
  ['100::/64', 'discard-only'],
  ['fc00::/7', 'unique local (ULA)'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local'],
  ['ff00::/8', 'multicast'],
];

/** Non-global ranges inside 2000::/3 (checked after Teredo and 6to4 were unwrapped). */
const IPV6_INSIDE_GLOBAL: readonly Range[] = [
  ['2001:db8::/32', 'documentation'],
  ['2001::/23', 'IETF protocol assignments'],
  ['3fff::/20', 'documentation'],
];

function lists(ranges: readonly Range[], family: 'ipv4' | 'ipv6') {
  return ranges.map(([cidr, name]) => {
    const [net, bits] = cidr.split('/');
    const list = new BlockList();
    list.addSubnet(net, Number(bits), family);
    return { list, name };
  });
}

const v4Special = lists(IPV4_SPECIAL, 'ipv4');
const v6Outside = lists(IPV6_OUTSIDE_GLOBAL, 'ipv6');
const v6Inside = lists(IPV6_INSIDE_GLOBAL, 'ipv6');
const v6Global = lists([['2000::/3', 'global unicast']], 'ipv6')[0].list;

const GLOBAL: AddressClass = { global: true, reason: '' };

function classifyV4(ip: string): AddressClass {
  for (const { list, name } of v4Special) if (list.check(ip, 'ipv4')) return { global: false, reason: name };
  return GLOBAL;
}

/** The 16 bytes of a valid IPv6 address (with or without a trailing dotted quad). */
export function ipv6Bytes(ip: string): Uint8Array {
  let text = ip.toLowerCase();
  const words: number[] = [];
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let quad: number[] = [];
  if (tail) {
    quad = tail[1].split('.').map(Number);
    text = text.slice(0, -tail[1].length);
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const groupsWanted = tail ? 6 : 8;
  const [head, rest] = text.split('::');
  const parse = (s: string | undefined) => (s ? s.split(':').map((h) => Number.parseInt(h, 16)) : []);
  const left = parse(head);
  const right = rest === undefined ? [] : parse(rest);
  words.push(...left);
  if (rest !== undefined) for (let i = left.length + right.length; i < groupsWanted; i++) words.push(0);
  words.push(...right);
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[2 * i] = w >> 8;
    bytes[2 * i + 1] = w & 0xff;
  });
  if (tail) bytes.set(quad, 12);
  return bytes;
}

const dotted = (b: Uint8Array, at: number, xor = 0) =>
  Array.from(b.subarray(at, at + 4), (x) => x ^ xor).join('.');

/** IPv6 forms that carry an IPv4 address: the addresses inside (Teredo carries two). */
function embeddedIPv4(b: Uint8Array): { form: string; v4: string[] } | null {
  const zero = (from: number, to: number) => b.subarray(from, to).every((x) => x === 0);
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return { form: 'IPv4-mapped', v4: [dotted(b, 12)] };
  // ::/96 holds ::, ::1 (handled before) and the deprecated IPv4-compatible form
  if (zero(0, 12)) return { form: 'IPv4-compatible', v4: [dotted(b, 12)] };
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(4, 12))
    return { form: 'NAT64', v4: [dotted(b, 12)] };
  if (b[0] === 0x20 && b[1] === 0x02) return { form: '6to4', v4: [dotted(b, 2)] };
  // Teredo 2001:0::/32: server at bytes 4..7, client (obfuscated by XOR) at bytes 12..15
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0 && b[3] === 0)
    return { form: 'Teredo', v4: [dotted(b, 4), dotted(b, 12, 0xff)] };
  return null;
}

function classifyV6(ip: string): AddressClass {
  const b = ipv6Bytes(ip);
  if (b.every((x) => x === 0)) return { global: false, reason: 'unspecified' };
  if (b.subarray(0, 15).every((x) => x === 0) && b[15] === 1) return { global: false, reason: 'loopback' };
  const inner = embeddedIPv4(b);
  if (inner) {
    for (const v4 of inner.v4) {
      const c = classifyV4(v4);
      if (!c.global) return { global: false, reason: `${inner.form} ${v4}: ${c.reason}` };
    }
    return GLOBAL;
  }
  for (const { list, name } of v6Outside) if (list.check(ip, 'ipv6')) return { global: false, reason: name };
  if (!v6Global.check(ip, 'ipv6')) return { global: false, reason: 'reserved (not global unicast)' };
  for (const { list, name } of v6Inside) if (list.check(ip, 'ipv6')) return { global: false, reason: name };
  return GLOBAL;
}

/** Classifies an IP address (IPv4, or IPv6 with or without brackets or a zone). Not an IP: refused. */
export function classifyAddress(address: string): AddressClass {
  const ip = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (isIPv4(ip)) return classifyV4(ip);
  if (isIPv6(ip)) return classifyV6(ip);
  return { global: false, reason: 'not an IP address' };
}

export function isGlobalUnicast(address: string): boolean {
  return classifyAddress(address).global;
}

/** A hostname as compared and resolved: lower case, brackets and trailing dots removed. */
export function normalizeHost(hostname: string): string {
  return hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.+$/, '')
    .toLowerCase();
}

/** Names that point inside whatever network they are resolved in (besides what resolves there). */
export function isLocalName(host: string): boolean {
  const h = normalizeHost(host);
  return (
    h === '' ||
    h === 'localhost' ||
    h === 'localhost.localdomain' ||
    !h.includes('.') || // a single label resolves through the local search domains
    /\.(localhost|local|internal|localdomain|home\.arpa|lan|intranet|corp)$/.test(h)
  );
}
