// A DesiredState read back from a router (a generation's desired.json, for rollback) is
// rendered into root shell again: every field is checked here as strictly as validation
// checks the inventory, and it must belong to the host and state folder the inventory names.
import type { HostConfig } from '../model/config.js';
import type { DesiredState } from '../model/desired.js';
import { NETFILTER_TABLES } from '../model/desired.js';
import { isIPv4, parseCidr } from '../net/ipv4.js';
import { isInterfaceName, isRemotePath } from '../net/names.js';
import { isSysctlKey } from '../facts/sysctl.js';
import { isModuleName } from '../facts/modules.js';

const BUILTIN_CHAINS = ['PREROUTING', 'OUTPUT', 'POSTROUTING', 'FORWARD', 'INPUT'];
const isUint = (v: unknown, max = 0xffffffff): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max;
const isChainName = (v: unknown): boolean => typeof v === 'string' && /^ML_[A-Za-z0-9_]{1,25}$/.test(v);
/** One iptables rule: a single line, nothing that could end the table or start another. */
const isRule = (v: unknown): boolean => typeof v === 'string' && !/[\n\r\0]/.test(v) && v.length < 2000;
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

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
  if (!['random', 'nth', 'sticky'].includes(String(d.method))) p.push('bad method');
  for (const c of arr(d.chains) as DesiredState['chains']) {
    if (!NETFILTER_TABLES.includes(c?.table) || !isChainName(c?.name) || !arr(c?.rules).every(isRule)) p.push(`bad chain ${String(c?.name)}`);
  }
  for (const j of arr(d.jumps) as DesiredState['jumps']) {
    if (!NETFILTER_TABLES.includes(j?.table) || !BUILTIN_CHAINS.includes(j?.chain) || !isRule(j?.rule) || !/ -j ML_|^-j ML_/.test(j.rule)) p.push('bad jump rule');
  }
  for (const r of arr(d.rules) as DesiredState['rules']) {
    if (!isUint(r?.priority, 32765) || !isUint(r?.fwmark) || !isUint(r?.mask) || !isUint(r?.table)) p.push('bad ip rule');
  }
  for (const r of arr(d.routes) as DesiredState['routes']) {
    if (!isUint(r?.table) || !(r?.dst === 'default' || parseCidr(String(r?.dst))) || !isIPv4(String(r?.via)) || !isInterfaceName(String(r?.dev))) p.push('bad route');
  }
  for (const x of arr(d.sysctls) as DesiredState['sysctls']) {
    if (!isSysctlKey(String(x?.key)) || !/^[0-9]{1,10}$/.test(String(x?.value))) p.push('bad sysctl');
  }
  if (!arr(d.modules).every((m) => isModuleName(String(m)))) p.push('bad module');
  for (const l of arr(d.links) as DesiredState['links']) {
    if (!isInterfaceName(String(l?.interface)) || !isIPv4(String(l?.gateway)) || !isUint(l?.mark) || !isUint(l?.index, 64) || !isUint(l?.weight) || !isUint(l?.tier, 64)) p.push('bad link');
  }
  if (!d.balanceChain || !NETFILTER_TABLES.includes(d.balanceChain.table) || !isChainName(d.balanceChain.name)) p.push('bad balance chain');
  const m = d.monitor;
  if (m) {
    const ok =
      arr(m.targets).every((t) => isIPv4(String(t))) &&
      isUint(m.intervalMs, 3_600_000) && isUint(m.downAfter, 1000) && isUint(m.upAfter, 1000) && isUint(m.quorum, 1000) &&
      arr(m.links).every((l) => { const k = l as DesiredState['links'][number]; return isInterfaceName(String(k?.interface)) && isUint(k?.mark) && isUint(k?.index, 64); }) &&
      Object.entries(m.balance ?? {}).every(([k, rules]) => /^[0-9]{1,4}$/.test(k) && arr(rules).every(isRule));
    if (!ok) p.push('bad monitor');
  }
  return p;
}
