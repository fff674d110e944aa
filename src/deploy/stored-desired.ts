// A DesiredState read back from a router (a generation's desired.json, for rollback) is
// rendered into root shell again: every field is checked here as strictly as validation
// checks the inventory, and it must belong to the host and state folder the inventory names.
import { BALANCE_METHODS, type BalanceMethod, type HostConfig } from '../model/config.js';
import type { DesiredState } from '../model/desired.js';
import { NETFILTER_TABLES } from '../model/desired.js';
import { isIPv4, parseCidr } from '../net/ipv4.js';
import { isIPv6, parseCidr6 } from '../net/ipv6.js';
import { isInterfaceName, isRemotePath } from '../net/names.js';
import { isSysctlKey } from '../facts/sysctl.js';
import { isModuleName } from '../facts/modules.js';

const BUILTIN_CHAINS = ['PREROUTING', 'OUTPUT', 'POSTROUTING', 'FORWARD', 'INPUT'];
const isUint = (v: unknown, max = 0xffffffff): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max;
const isChainName = (v: unknown): boolean => typeof v === 'string' && /^ML_[A-Za-z0-9_]{1,25}$/.test(v);
/** One iptables rule: a single line, nothing that could end the table or start another. */
const isRule = (v: unknown): boolean => typeof v === 'string' && !/[\n\r\0]/.test(v) && v.length < 2000;
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function ruleOk(r: DesiredState['rules'][number] | undefined): boolean {
  switch (r?.kind) {
    case 'fwmark':
      return isUint(r.fwmark) && isUint(r.mask) && isUint(r.table);
    case 'main':
      return true;
    case 'oif':
      return isInterfaceName(String(r.dev)) && isUint(r.table);
    default:
      return false;
  }
}

type Loose = Record<string, unknown>;
const isObject = (v: unknown): v is Loose => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A generation written by an earlier multilink, in today's shape: ip rules were all fwmark
 * rules, links had no inbound marking, the monitor's probe settings were at its top level.
 * Anything else is left as it is for the checks to judge.
 */
export function upgradeStoredDesired(v: unknown): unknown {
  if (!isObject(v)) return v;
  const d: Loose = { ...v };
  if (Array.isArray(d.rules)) d.rules = d.rules.map((r) => (isObject(r) && r.kind === undefined ? { kind: 'fwmark', ...r } : r));
  if (Array.isArray(d.links)) d.links = d.links.map((l) => (isObject(l) && l.inbound === undefined ? { ...l, inbound: false } : l));
  if (isObject(d.monitor) && d.monitor.probes === undefined && Array.isArray(d.monitor.targets)) {
    const { targets, downAfter, upAfter, quorum, ...rest } = d.monitor;
    const tables = new Map((Array.isArray(d.routes) ? d.routes : []).filter(isObject).map((r) => [r.dev, r.table]));
    const links = Array.isArray(rest.links) ? rest.links.map((l) => (isObject(l) ? { ...l, table: tables.get(l.interface), gateway: 'fixed' } : l)) : rest.links;
    d.monitor = { ...rest, links, probes: { targets, downAfter, upAfter, quorum } };
  }
  return d;
}

export function storedDesiredProblems(v: unknown, cfg: HostConfig): string[] {
  const p: string[] = [];
  const d = v as Partial<DesiredState> | null;
  if (!d || typeof d !== 'object') return ['not an object'];
  if (d.host !== cfg.name) p.push(`it is for host ${String(d.host)}, not ${cfg.name}`);
  const s = d.settings;
  if (!s || s.stateDir !== cfg.settings.stateDir || !isRemotePath(s.stateDir)) p.push('its state folder is not the inventory\'s');
  if (s && (!isUint(s.markMask) || !isUint(s.tableBase) || !isUint(s.rulePriority, 32765))) p.push('bad settings numbers');
  if (s && !['auto', 'legacy', 'nft'].includes(s.iptables)) p.push('bad iptables setting');
  if (s && !['auto', 'systemd', 'initd', 'none'].includes(s.boot) && !(typeof s.boot === 'string' && isRemotePath(s.boot))) p.push('bad boot setting');
  if (!BALANCE_METHODS.includes(d.method as BalanceMethod)) p.push('bad method');
  const familyOk = (o: { family?: unknown } | undefined): boolean => o?.family === undefined || o.family === 6;
  for (const c of arr(d.chains) as DesiredState['chains']) {
    if (!NETFILTER_TABLES.includes(c?.table) || !isChainName(c?.name) || !arr(c?.rules).every(isRule) || !familyOk(c)) p.push(`bad chain ${String(c?.name)}`);
  }
  for (const j of arr(d.jumps) as DesiredState['jumps']) {
    if (!NETFILTER_TABLES.includes(j?.table) || !BUILTIN_CHAINS.includes(j?.chain) || !isRule(j?.rule) || !/ -j ML_|^-j ML_/.test(j.rule) || !familyOk(j)) p.push('bad jump rule');
  }
  for (const r of arr(d.rules) as DesiredState['rules']) {
    if (!isUint(r?.priority, 32765) || !ruleOk(r) || !familyOk(r)) p.push('bad ip rule');
  }
  for (const r of arr(d.routes) as DesiredState['routes']) {
    const v6 = r?.family === 6;
    const via = r?.via === undefined || (v6 ? isIPv6(String(r.via)) : isIPv4(String(r.via)));
    const dst = r?.dst === 'default' || (v6 ? parseCidr6(String(r?.dst)) !== undefined : parseCidr(String(r?.dst)) !== undefined);
    if (!isUint(r?.table) || !dst || !via || !isInterfaceName(String(r?.dev)) || ![undefined, true].includes(r?.learned) || !familyOk(r)) p.push('bad route');
  }
  for (const x of arr(d.sysctls) as DesiredState['sysctls']) {
    if (!isSysctlKey(String(x?.key)) || !/^[0-9]{1,10}$/.test(String(x?.value))) p.push('bad sysctl');
  }
  if (!arr(d.modules).every((m) => isModuleName(String(m)))) p.push('bad module');
  for (const l of arr(d.links) as DesiredState['links']) {
    const gateway = isIPv4(String(l?.gateway)) || l?.gateway === 'auto' || l?.gateway === 'none';
    const gateway6 = l?.gateway6 === undefined || isIPv6(String(l.gateway6)) || l.gateway6 === 'auto' || l.gateway6 === 'none';
    if (!isInterfaceName(String(l?.interface)) || !gateway || !gateway6 || !isUint(l?.mark) || !isUint(l?.index, 64) || !isUint(l?.weight) || !isUint(l?.tier, 64) || typeof l?.inbound !== 'boolean') p.push('bad link');
  }
  if (!d.balanceChain || !NETFILTER_TABLES.includes(d.balanceChain.table) || !isChainName(d.balanceChain.name)) p.push('bad balance chain');
  const m = d.monitor;
  if (m) {
    const probes = m.probes === undefined || (arr(m.probes.targets).every((t) => isIPv4(String(t))) && isUint(m.probes.downAfter, 1000) && isUint(m.probes.upAfter, 1000) && isUint(m.probes.quorum, 1000));
    const ok =
      probes &&
      (m.guardOnly === undefined || m.guardOnly === true) &&
      isUint(m.intervalMs, 3_600_000) &&
      arr(m.links).every((l) => {
        const k = l as NonNullable<DesiredState['monitor']>['links'][number];
        const g6 = k?.gateway6 === undefined || ['fixed', 'none', 'auto'].includes(k.gateway6);
        return isInterfaceName(String(k?.interface)) && isUint(k?.mark) && isUint(k?.index, 64) && isUint(k?.table) && ['fixed', 'none', 'auto'].includes(k?.gateway) && g6;
      }) &&
      Object.entries(m.balance ?? {}).every(([k, rules]) => /^[0-9]{1,4}$/.test(k) && arr(rules).every(isRule)) &&
      Object.entries(m.balance6 ?? {}).every(([k, rules]) => /^[0-9]{1,4}$/.test(k) && arr(rules).every(isRule));
    if (!ok) p.push('bad monitor');
  }
  return p;
}
