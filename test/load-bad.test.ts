// The bad-input corpus: every mistake SPEC lists is refused with its file:line:column.
// Each case is a folder under fixtures/load/bad with an inventory.yaml and its playbooks;
// every error the loader reports must be listed here (no more, no fewer).
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { assertNoErrors, loadProject } from '../src/load/resolve.js';
import type { Diagnostic } from '../src/diagnostics.js';
import { InputError } from '../src/errors.js';

const BAD = relative(process.cwd(), fileURLToPath(new URL('./fixtures/load/bad/', import.meta.url)));

/** [file:line:col relative to the case folder ('' when none), text the summary contains, host named (optional)] */
type Expected = [string, string, string?];

interface BadCase {
  set: string;
  limit?: string;
  errors: Expected[];
}

const CASES: BadCase[] = [
  {
    set: 'keys',
    errors: [
      ['inventory.yaml:4:5', "unknown multilink variable 'multilink_wieghts' (did you mean 'multilink_weights'?)"],
      ['inventory.yaml:9:7', "unknown key 'host' in group 'edge' (did you mean 'hosts'?); expected one of hosts, vars, children"],
      ['inventory.yaml:15:13', "group 'loop1' is its own ancestor (loop1 → loop2 → loop1)"],
      ['playbook.yaml:3:3', "unknown key 'become' in play; expected one of name, hosts, balance, links"],
      ['playbook.yaml:6:5', "unknown key 'lans' in balance (did you mean 'lan'?)"],
      ['playbook.yaml:8:58', "unknown key 'wieght' in link (did you mean 'weight'?)"],
      ['playbook.yaml:9:7', "link is missing 'gateway'"],
      ['playbook.yaml:11:47', "unknown key 'port' in exception (did you mean 'ports'?)"],
      ['playbook.yaml:14:5', "unknown key 'intervall' in health (did you mean 'interval'?)"],
    ],
  },
  {
    set: 'shares',
    errors: [
      ['playbook.yaml:5:69', 'min_share 0.7 is above max_share 0.5'],
      ['playbook.yaml:6:81', `max_share: expected a share from 0 to 1, like 0.25 or "25%", got 2`],
      ['playbook.yaml:7:46', "gateway: expected an IPv4 address like 100.64.1.1, 'auto' (follow the interface's DHCP/PPP default route) or 'none' (point-to-point), got 'dhcp'"],
      ['playbook.yaml:7:63', `max_share: expected a share from 0 to 1, like 0.25 or "25%", got 'lots'`],
      ['playbook.yaml:5:5', "the links' min_share add up to 1.3, more than all of the new connections"],
      ['playbook.yaml:12:5', "min_share and max_share bound the weights that method adaptive learns; play 'bounds without adaptive' balances with method random"],
    ],
  },
  {
    set: 'values',
    errors: [
      ['playbook.yaml:4:13', "method: expected one of random, nth, sticky, adaptive, got 'fastest'"],
      ['playbook.yaml:5:14', 'traffic forwarded needs a non-empty balance.lan'],
      ['playbook.yaml:5:26', "traffic: expected one of forwarded, local, got 'outgoing'"],
      ['playbook.yaml:7:66', 'weight: expected a whole number >= 0, got -1'],
      ['playbook.yaml:8:33', "interface: expected an interface name the kernel accepts (1-15 of A-Z a-z 0-9 _ . @ + -, not . or ..), got 'wan 2'"],
      ['playbook.yaml:8:51', "gateway: expected an IPv4 address (a.b.c.d), got '100.64.2.256'"],
      ['playbook.yaml:8:73', 'weight: expected a whole number >= 0, got 1.5'],
      ['playbook.yaml:9:15', "duplicate link name 'dsl': already used by the link at"],
      ['playbook.yaml:9:31', "duplicate link interface 'wan1': already used by the link at"],
      ['playbook.yaml:9:64', 'tier: expected a whole number >= 1, got 0'],
      ['playbook.yaml:9:79', "masquerade: expected true or false, got 'maybe'"],
      ['playbook.yaml:10:15', "link name: expected 1-15 letters, digits, _ or -, starting with a letter, and not 'main'"],
      ['playbook.yaml:10:32', "interface: expected an interface name the kernel accepts (1-15 of A-Z a-z 0-9 _ . @ + -, not . or ..), got 'averyveryverylongname0'"],
      ['playbook.yaml:12:22', "destination: expected a network with its host bits zero (/24 leaves the last 8 bits for hosts), got '192.0.2.1/24'"],
      ['playbook.yaml:13:22', "destination: expected an IPv4 network like 192.0.2.0/24 or an IPv6 prefix like 2001:db8::/32, got '192.0.2.300'"],
      ['playbook.yaml:14:32', 'port: expected a whole number from 1 to 65535, got 0'],
      ['playbook.yaml:14:39', 'port: expected a whole number from 1 to 65535, got 70000'],
      ['playbook.yaml:14:52', "via: expected main or a link of this play (dsl, cable), got 'lte'"],
      ['playbook.yaml:15:16', 'ports need a protocol: add protocol: tcp or protocol: udp'],
      ['playbook.yaml:16:19', "protocol: expected one of tcp, udp, got 'icmp'"],
      ['playbook.yaml:17:7', 'exception matches every connection: give a destination, a source, an in (LAN interface) and/or a protocol'],
      ['playbook.yaml:18:18', "helper: expected one of ftp, got 'sip'"],
      ['playbook.yaml:19:14', "rp_filter: expected one of loose, off, got 'strict'"],
      ['playbook.yaml:21:29', "health target: expected an IPv4 address (a.b.c.d), got 'dns.example'"],
      ['playbook.yaml:22:15', 'interval: expected a duration from 100ms to 60m, like 1s, 250ms or 0.25s, got 1'],
      ['playbook.yaml:23:17', 'down_after: expected a whole number >= 1, got 0'],
      ['playbook.yaml:24:13', 'quorum: expected at most the number of targets (1), got 3'],
    ],
  },
  {
    set: 'settings',
    errors: [
      ['inventory.yaml:5:25', 'ansible_port: expected a whole number from 1 to 65535, got 70000'],
      ['inventory.yaml:5:48', "ansible_become: expected true or false, got 'maybe'"],
      ['inventory.yaml:6:32', "multilink_mark_mask: expected one contiguous run of set bits within 32 bits, like 0xff00, got '0xf0f0'"],
      ['inventory.yaml:7:32', 'multilink_mark_mask 0x300 holds marks for 2 links but the play has 4: expected a wider mask', 'h3'],
      ['inventory.yaml:8:33', 'multilink_table_base 250: link tables 251..254 must stay within 1..4294967039 and avoid 253, 254, 255', 'h4'],
      ['inventory.yaml:9:36', 'multilink_rule_priority 32764: the rules of 4 links need priorities 32763..32771, beyond 32765', 'h5'],
      ['inventory.yaml:10:32', "multilink_state_dir: expected an absolute path on the router (starting with /), got 'var/lib/multilink'"],
      ['inventory.yaml:10:67', "multilink_boot: expected one of auto, systemd, initd, none, got 'upstart'"],
      ['inventory.yaml:10:96', "multilink_iptables: expected one of auto, legacy, nft, got 'nf'"],
      ['inventory.yaml:11:37', 'multilink_weights dsl: expected a whole number >= 0, got -1'],
      ['inventory.yaml:11:41', "multilink_weights: unknown link 'fibre'; play 'four links' has links dsl, cable, lte, wifi", 'h7'],
      ['inventory.yaml:12:30', 'every link has weight 0 (after multilink_weights)', 'h8'],
      ['inventory.yaml:13:25', "ansible_host: expected a host name or address (no blanks, quotes, $ ` \\ ; & < > | ( ) { } or leading dash, as ssh requires), got '-oProxyCommand=x'"],
      ['inventory.yaml:14:33', 'multilink_mark_mask: expected one contiguous run of set bits within 32 bits, like 0xff00, got 0xf0f0'],
    ],
  },
  {
    set: 'targets',
    errors: [
      ['inventory.yaml:11:37', 'playbook file not found: '],
      ['one.yaml:2:10', "host pattern 'nosuch' names no host or group"],
      ['two.yaml:2:10', "host r1 is targeted by two plays with links: 'first' (", 'r1'],
    ],
  },
  {
    set: 'templates',
    errors: [
      ['playbook.yaml:3:40', "lan: expected an interface name the kernel accepts (1-15 of A-Z a-z 0-9 _ . @ + -, not . or ..), got '{{ lan_if }}' = 'lan 0' (lan_if set at ", 'r3'],
      ['playbook.yaml:5:46', "gateway: expected an IPv4 address like 100.64.1.1, 'auto' (follow the interface's DHCP/PPP default route) or 'none' (point-to-point), got '{{ gw }}' = 'dsl-gateway' (gw set at ", 'r2'],
      ['playbook.yaml:5:46', "template '{{ gw }}': line 1, column 1: 'gw' is undefined", 'r3'],
      ['playbook.yaml:6:48', "template '{{ gw2 | default('100.64.2.1') | nope }}': line 1, column 34: no filter named 'nope'"],
      ['playbook.yaml:7:46', "template '100.64.3.{{ octet': expected variable end"],
    ],
  },
  {
    set: 'exceptions-source',
    errors: [
      ['playbook.yaml:9:35', "in: expected an interface of balance.lan (lan0, guest), got 'guset' (did you mean 'guest'?)"],
      ['playbook.yaml:10:17', 'source 2001:db8:5::/48 is IPv6 but destination 198.51.100.0/24 is IPv4: one exception matches one family'],
      ['playbook.yaml:11:17', "source: expected a network with its host bits zero (/24 leaves the last 8 bits for hosts), got '192.0.2.1/24'"],
      ['playbook.yaml:12:43', 'an IPv6 source via lte, which carries no IPv6: give link lte a gateway6, or send it via main'],
      ['playbook.yaml:13:17', 'source: expected at least one prefix, got a list'],
      ['playbook.yaml:13:25', 'in: expected at least one LAN interface, got a list'],
      ['playbook.yaml:14:7', 'exception matches every connection: give a destination, a source, an in (LAN interface) and/or a protocol'],
      ['playbook.yaml:14:9', "unknown key 'sources' in exception (did you mean 'source'?)"],
      ['playbook.yaml:15:13', "in: expected an interface of balance.lan (lan0, guest), got 'wan1' (wan1 is the uplink of link dsl; in names where a LAN's connections arrive)"],
      ['playbook.yaml:16:17', 'source 198.51.100.0/24 is IPv4 but destination 2001:db8:7::/48 is IPv6'],
    ],
  },
  { set: 'zero', errors: [['playbook.yaml:5:5', 'every link has weight 0: at least one link needs a weight > 0']] },
  { set: 'yaml-inventory', errors: [['inventory.yaml:4:5', 'YAML syntax: Flow map in block collection must be sufficiently indented']] },
  {
    set: 'yaml-playbook',
    errors: [
      ['playbook.yaml:5:1', 'YAML syntax: A block sequence may not be used as an implicit map key'],
      ['playbook.yaml:5:4', 'YAML syntax: Implicit keys need to be on a single line'],
      ['playbook.yaml:5:4', 'YAML syntax: Implicit map keys need to be followed by map values'],
    ],
  },
  { set: 'values', limit: 'r1:nosuch', errors: [['', "--limit: host pattern 'nosuch' names no host or group"]] },
  { set: 'values', limit: 'all:!r1', errors: [['', "--limit 'all:!r1' selects no host"]] },
];

function where(d: Diagnostic, dir: string): string {
  return d.pos ? `${relative(dir, d.pos.file)}:${d.pos.line}:${d.pos.col}` : '';
}

describe('bad input is refused with file:line:column', () => {
  it.each(CASES)('$set (limit $limit)', ({ set, limit, errors }) => {
    const dir = `${BAD}/${set}`;
    const project = loadProject(`${dir}/inventory.yaml`, { limit });
    const found = project.diagnostics.filter((d) => d.severity === 'error');
    // With a --limit, only the limit's own errors are asserted: the folder's are above.
    const relevant = limit ? found.filter((d) => !d.pos) : found;
    const unexpected = [...relevant];
    for (const [pos, text, host] of errors) {
      const i = unexpected.findIndex((d) => where(d, dir) === pos && d.summary.includes(text) && d.host === host);
      expect(i, `expected at ${pos}: ${text}${host ? ` [host ${host}]` : ''}\nfound:\n${describeAll(relevant, dir)}`).toBeGreaterThanOrEqual(0);
      unexpected.splice(i, 1);
    }
    expect(describeAll(unexpected, dir)).toBe('');
    expect(project.hosts).toEqual([]);
    expect(() => assertNoErrors(project)).toThrow(InputError);
  });
});

function describeAll(ds: Diagnostic[], dir: string): string {
  return ds.map((d) => `${where(d, dir)} ${d.summary}${d.host ? ` [host ${d.host}]` : ''}`).join('\n');
}

describe('two hosts sharing a templated play are checked one by one', () => {
  it('reports the host whose var is bad, and resolves the other', () => {
    const project = loadProject(`${BAD}/templates/inventory.yaml`, { limit: 'r1:r2' });
    const gateway = project.diagnostics.filter((d) => d.summary.startsWith('gateway:'));
    expect(gateway.map((d) => d.host)).toEqual(['r2']);
    expect(project.diagnostics.some((d) => d.host === 'r1')).toBe(false);
  });

  it('does not check templates of hosts outside --limit', () => {
    const project = loadProject(`${BAD}/templates/inventory.yaml`, { limit: 'r1' });
    expect(project.diagnostics.filter((d) => d.host !== undefined)).toEqual([]);
  });
});
