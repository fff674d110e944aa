// Plans the routes in multilink's routing tables (one per link). A table that already holds
// routes multilink did not put there is a clash.
import type { Diagnostics } from '../diagnostics.js';
import { familyField, familyOf, type DesiredState, type Family, type RouteSpec } from '../model/desired.js';
import { familyObject } from './family.js';
import type { HostFacts } from '../model/facts.js';
import type { Change } from '../model/plan.js';
import { routeShowText } from '../render/ip.js';

export interface RoutesPlan {
  changes: Change[];
  flush: number[];
  replace: RouteSpec[];
  remove: { table: number; text: string; family?: 6 }[];
}

/**
 * The route a `gateway: auto` link's table holds: run-time state its monitor keeps following
 * the interface's default route in main. One default route on the interface, whatever its
 * gateway, is in sync (the monitor catches up within an interval); an empty table is too
 * while main has no default route there (the link is down). Otherwise deploy sets what main says.
 */
function learnedRoutes(r: RouteSpec, facts: HostFacts): RouteSpec[] {
  const live = facts.routes[r.table] ?? [];
  const f = familyField(familyOf(r));
  if (live.length === 1 && live[0].dst === r.dst && live[0].dev === r.dev) return [{ table: r.table, ...f, dst: r.dst, dev: r.dev, ...(live[0].via ? { via: live[0].via } : {}) }];
  const main = facts.mainDefaults[r.dev];
  if (main === undefined) return [];
  return [{ table: r.table, ...f, dst: r.dst, dev: r.dev, ...(main.startsWith('via ') ? { via: main.slice(4) } : {}) }];
}

/** One family's routes (plan/family.ts gives the views); IPv6's `flush` is routesFlush6. */
export function planRoutes(desired: DesiredState, facts: HostFacts, diags: Diagnostics, family: Family = 4): RoutesPlan {
  const plan: RoutesPlan = { changes: [], flush: [], replace: [], remove: [] };
  const f = familyField(family);
  const obj = (table: number): string => familyObject(family, `table ${table}`);
  const owned = new Set(facts.owned?.tables ?? []);
  const tables = [...new Set(desired.routes.map((r) => r.table))];
  for (const table of tables) {
    const wanted = desired.routes.filter((r) => r.table === table).flatMap((r) => (r.learned ? learnedRoutes(r, facts) : [r]));
    const wantedText = wanted.map(routeShowText);
    const live = facts.routes[table] ?? [];
    const liveText = live.map((l) => l.text);
    const same = wantedText.length === liveText.length && wantedText.every((t) => liveText.includes(t));
    if (same) continue;
    if (live.length > 0 && !owned.has(table)) {
      diags.error(`${family === 6 ? 'IPv6 ' : ''}routing table ${table} already holds routes multilink did not create: "${liveText.join('; ')}"`, {
        host: desired.host,
        detail: 'choose another multilink_table_base, or empty that table',
      });
      continue;
    }
    wanted.forEach((r, i) => {
      if (liveText.includes(wantedText[i])) return;
      plan.replace.push(r);
      plan.changes.push({ kind: 'route', op: 'create', object: obj(table), expected: wantedText[i] });
    });
    for (const t of liveText.filter((t) => !wantedText.includes(t))) {
      plan.remove.push({ table, text: t, ...f });
      plan.changes.push({ kind: 'route', op: 'delete', object: obj(table), actual: t });
    }
  }
  for (const table of owned) {
    // An owned table no longer used is emptied; one gathered empty needs nothing.
    if (tables.includes(table) || facts.routes[table]?.length === 0) continue;
    plan.flush.push(table);
    plan.changes.push({ kind: 'route', op: 'delete', object: obj(table), actual: 'every route (table no longer used)' });
  }
  return plan;
}
