// Fact: the ownership record multilink wrote on the router when it last applied, so objects
// it created earlier (and no longer wants) can be told apart from other people's.
import type { OwnedRecord } from '../model/facts.js';
import { NETFILTER_TABLES, type NetfilterTable } from '../model/desired.js';
import { StateLayout } from '../shell/layout.js';
import { sh, type Sh } from '../shell/sh.js';

/** The record as the lines ("table 101", "sysctl net/ipv4/ip_forward", "family 6") the gather script reads. */
export function ownedListText(r: OwnedRecord): string {
  return [...r.tables.map((t) => `table ${t}`), ...Object.keys(r.sysctls).map((k) => `sysctl ${k}`), ...(r.ipv6 ? ['family 6'] : [])].join('\n') + '\n';
}

/**
 * owned.json, after a line `ml-empty PATH` for each of the record's files that exists but is
 * empty: what a power cut leaves of a file written shortly before (see parseOwned).
 */
export function ownedCommand(stateDir: string): Sh {
  const s = new StateLayout(stateDir);
  return sh`for ml_of in ${s.owned} ${s.ownedList}; do if [ -e "$ml_of" ] && [ ! -s "$ml_of" ]; then echo "ml-empty $ml_of"; fi; done
if [ -r ${s.owned} ]; then cat ${s.owned}; fi`;
}

/**
 * The ownership record exists but is empty. Taken for "never applied here", it would make
 * multilink's own tables, rules and sysctls look like someone else's; so the host is refused
 * until the record is whole again (the boot hook writes it from the current generation).
 */
export class DamagedOwnedError extends Error {
  override name = 'DamagedOwnedError';
  constructor(readonly paths: string[]) {
    super(`${paths.join(' and ')} ${paths.length > 1 ? 'are' : 'is'} empty`);
  }
}

function isNumberArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((n) => Number.isInteger(n));
}

/**
 * Empty text: never applied here. A corrupt record is an error, not a silent "nothing owned";
 * an empty file of the record is a DamagedOwnedError.
 */
export function parseOwned(text: string): OwnedRecord | null {
  const empty = [...text.matchAll(/^ml-empty (.+)$/gm)].map((m) => m[1]);
  if (empty.length > 0) throw new DamagedOwnedError(empty);
  if (text.trim() === '') return null;
  const data: unknown = JSON.parse(text);
  if (typeof data !== 'object' || data === null) throw new Error('ownership record is not a JSON object');
  const r = data as Record<string, unknown>;
  const chains = Array.isArray(r.chains) ? r.chains : [];
  const sysctls = typeof r.sysctls === 'object' && r.sysctls !== null ? (r.sysctls as Record<string, unknown>) : {};
  if (!isNumberArray(r.tables) || !isNumberArray(r.priorities)) throw new Error('ownership record lacks tables/priorities');
  return {
    tables: r.tables,
    priorities: r.priorities,
    chains: chains.flatMap((c: unknown) => {
      const o = c as { table?: unknown; name?: unknown; family?: unknown };
      return NETFILTER_TABLES.includes(o.table as NetfilterTable) && typeof o.name === 'string' && o.name.startsWith('ML_')
        ? [{ table: o.table as NetfilterTable, name: o.name, ...(o.family === 6 ? { family: 6 as const } : {}) }]
        : [];
    }),
    sysctls: Object.fromEntries(Object.entries(sysctls).filter((e): e is [string, string] => typeof e[1] === 'string')),
    ...(r.ipv6 === true ? { ipv6: true as const } : {}),
  };
}
