// `multilink lab up|down`: the built-in lab of simulated routers.
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import type { Output } from '../report/view.js';
import { DEFAULT_DIR, DEFAULT_SUBNET, formatLabInfo, labDown, labUp, readLab } from '../lab/lab.js';
import type { LabFirewall } from '../lab/topology.js';

export interface LabCommandOptions {
  routers?: number;
  dir: string;
  dataplane: boolean;
  rates?: string;
  /** commander's --no-bcp38: false turns the ISPs' source check off. */
  bcp38: boolean;
  openwrt?: string;
  /** `--openwrt-stock [routers]`: true (no list: every router) or the list. */
  openwrtStock?: string | boolean;
  firewall?: string;
  dhcpUplink: boolean;
  ptpUplink: boolean;
  ipv6: boolean;
}

function parseOpenwrt(names: string | undefined, routers: number, flag = '--openwrt'): string[] | undefined {
  if (names === undefined) return undefined;
  if (names === 'all') return Array.from({ length: routers }, (_, i) => `r${i + 1}`);
  const list = names.split(',').map((n) => n.trim());
  if (!list.every((n) => /^r[1-9][0-9]*$/.test(n))) throw new UsageError(`${flag} takes router names like r1,r3 or all, not ${JSON.stringify(names)}`);
  return list;
}

function parseRates(rates: string | undefined): number[] | undefined {
  if (rates === undefined) return undefined;
  const parts = rates.split(',');
  if (parts.length !== 3 || !parts.every((p) => /^[1-9][0-9]{0,4}$/.test(p.trim()))) {
    throw new UsageError(`--rates takes three whole numbers of Mbit/s, like 20,40,60, not ${JSON.stringify(rates)}`);
  }
  return parts.map((p) => Number(p.trim()));
}

export async function labCommand(action: string, opts: LabCommandOptions, output: Output): Promise<number> {
  const log = (line: string): void => output.err(line);
  if (action === 'down') {
    if (!readLab(opts.dir)) {
      output.out(`no lab in ${resolve(opts.dir)}: nothing to remove`);
      return 0;
    }
    await labDown({ dir: opts.dir, log });
    output.out(`lab in ${resolve(opts.dir)} removed`);
    return 0;
  }
  if (action !== 'up') throw new UsageError(`lab takes "up" or "down", not ${JSON.stringify(action)}`);
  const existing = readLab(opts.dir);
  const routers = opts.routers ?? (opts.dataplane ? 1 : 3);
  if (existing?.status === 'up' && existing.routers.length === routers && Boolean(existing.dataplane) === opts.dataplane && Boolean(existing.dataplane?.ipv6) === opts.ipv6) {
    output.out(`lab already up (run \`multilink lab down\` to remove it)\n${formatLabInfo(existing)}`);
    return 0;
  }
  if (existing) throw new UsageError(`a lab of ${existing.routers.length} routers (${existing.status}) is in ${existing.dir}: run \`multilink lab down --dir ${opts.dir}\` first`);
  // The default folder is the default lab, whose addresses inventory/lab.yaml names.
  const isDefault = opts.dir === DEFAULT_DIR;
  const rates = parseRates(opts.rates);
  if (rates && !opts.dataplane) throw new UsageError('--rates goes with --dataplane');
  const uplinks = [...(opts.dhcpUplink ? (['dhcp'] as const) : []), ...(opts.ptpUplink ? (['ptp'] as const) : [])];
  if (uplinks.length > 0 && !opts.dataplane) throw new UsageError('--dhcp-uplink and --ptp-uplink go with --dataplane');
  if (opts.ipv6 && !opts.dataplane) throw new UsageError('--ipv6 goes with --dataplane');
  const openwrt = parseOpenwrt(opts.openwrt, routers);
  const openwrtStock = parseOpenwrt(opts.openwrtStock === true ? 'all' : opts.openwrtStock || undefined, routers, '--openwrt-stock');
  const info = await labUp({
    routers,
    dir: opts.dir,
    log,
    dataplane: opts.dataplane,
    bcp38: opts.bcp38 !== false,
    uplinks,
    ipv6: opts.ipv6,
    ...(openwrt ? { openwrt } : {}),
    ...(openwrtStock ? { openwrtStock } : {}),
    ...(opts.firewall ? { firewall: parseFirewall(opts.firewall) } : {}),
    ...(rates ? { rates } : {}),
    ...(isDefault ? { subnet: DEFAULT_SUBNET } : {}),
  });
  output.out(formatLabInfo(info));
  return 0;
}

function parseFirewall(v: string): LabFirewall {
  if (v !== 'iptables' && v !== 'nft' && v !== 'auto') throw new UsageError(`--firewall takes iptables, nft or auto, not ${JSON.stringify(v)}`);
  return v;
}
