// Plans `table inet multilink`: chains compared line by line with the listing, a changed
// chain flushed and refilled, sets and helpers declared. The whole table is made anew only
// when there is none, or a set or helper changed its definition (its entries could not be
// kept anyway); a weight change or a failover touches only the balancing chain.
import type { NftChain, NftObject, NftTable } from '../model/nft.js';
import type { Change, NftOps } from '../model/plan.js';
import { nftTableText } from '../render/nft.js';

export interface NftPlan {
  changes: Change[];
  ops?: NftOps;
}

const text = (c: NftChain): string => [...(c.hook ? [c.hook] : []), ...c.rules].join('\n');
const objectText = (o: NftObject): string => o.lines.join('\n');
const objectKey = (o: NftObject): string => `${o.kind} ${o.name}`;

/** desired null: the table must not exist (iptables backend). live undefined: the router has no usable nft. */
export function planNft(desired: NftTable | null, live: NftTable | null | undefined): NftPlan {
  if (live === undefined) return { changes: [] };
  if (!desired) {
    if (!live) return { changes: [] };
    return { changes: [{ kind: 'nft', op: 'delete', object: 'table inet multilink', actual: nftTableText(live) }], ops: { dropTable: true, ...empty() } };
  }
  if (!live) {
    return { changes: [{ kind: 'nft', op: 'create', object: 'table inet multilink', expected: nftTableText(desired) }], ops: { replace: desired, ...empty() } };
  }
  const changes: Change[] = [];
  const liveObjects = new Map(live.objects.map((o) => [objectKey(o), o]));
  const wantObjects = new Set(desired.objects.map(objectKey));
  let objectChanged = false;
  for (const o of desired.objects) {
    const l = liveObjects.get(objectKey(o));
    if (!l) changes.push({ kind: 'nft', op: 'create', object: objectKey(o), expected: objectText(o) });
    else if (objectText(l) !== objectText(o)) {
      objectChanged = true;
      changes.push({ kind: 'nft', op: 'update', object: objectKey(o), expected: objectText(o), actual: objectText(l) });
    }
  }
  const staleObjects = live.objects.filter((o) => !wantObjects.has(objectKey(o)));
  for (const o of staleObjects) changes.push({ kind: 'nft', op: 'delete', object: objectKey(o), actual: objectText(o) });

  const liveChains = new Map(live.chains.map((c) => [c.name, c]));
  const wantChains = new Set(desired.chains.map((c) => c.name));
  const declare: NftChain[] = [];
  const rehook: string[] = [];
  const flush: string[] = [];
  const fill: NftChain[] = [];
  for (const c of desired.chains) {
    const l = liveChains.get(c.name);
    if (!l) {
      changes.push({ kind: 'nft', op: 'create', object: `chain ${c.name}`, expected: text(c) });
      declare.push(c);
      fill.push(c);
    } else if (text(l) !== text(c)) {
      changes.push({ kind: 'nft', op: 'update', object: `chain ${c.name}`, expected: text(c), actual: text(l) });
      if (l.hook !== c.hook) {
        rehook.push(c.name);
        declare.push(c);
      } else flush.push(c.name);
      fill.push(c);
    }
  }
  const stale = live.chains.filter((c) => !wantChains.has(c.name));
  for (const c of stale) changes.push({ kind: 'nft', op: 'delete', object: `chain ${c.name}`, actual: text(c) });
  if (changes.length === 0) return { changes };
  if (objectChanged) return { changes, ops: { replace: desired, ...empty() } };
  const added = desired.objects.filter((o) => !liveObjects.has(objectKey(o)));
  // A stale chain may be jumped to from another stale one: empty them all before deleting any.
  return { changes, ops: { objectsAdd: added, objectsDelete: staleObjects, rehook, declare, flush: [...flush, ...stale.map((c) => c.name)], fill, drop: stale.map((c) => c.name) } };
}

function empty(): Omit<NftOps, 'replace' | 'dropTable'> {
  return { objectsAdd: [], objectsDelete: [], rehook: [], declare: [], flush: [], fill: [], drop: [] };
}
