// nft -f text for the nft backend: the whole table (render, restore, reset) and the one
// transaction a plan's NftOps make. Every line is written as `nft list` prints it back.
import { NFT_FAMILY, NFT_TABLE, type NftChain, type NftObject, type NftTable } from '../model/nft.js';
import type { NftOps } from '../model/plan.js';

const T = `${NFT_FAMILY} ${NFT_TABLE}`;

function objectBlock(o: NftObject, indent: string): string[] {
  return [`${indent}${o.kind} ${o.name} {`, ...o.lines.map((l) => `${indent}\t${l}`), `${indent}}`];
}

function chainBlock(c: NftChain, indent: string): string[] {
  return [`${indent}chain ${c.name} {`, ...(c.hook ? [`${indent}\t${c.hook}`] : []), ...c.rules.map((r) => `${indent}\t${r}`), `${indent}}`];
}

/** The table as `nft -s -t list table inet multilink` prints it (objects, then chains). */
export function nftTableText(t: NftTable): string {
  const blocks = [...t.objects.map((o) => objectBlock(o, '\t')), ...t.chains.map((c) => chainBlock(c, '\t'))];
  return [`table ${T} {`, ...blocks.flatMap((b, i) => (i === 0 ? b : ['', ...b])), '}', ''].join('\n');
}

/** Makes the table exactly `t` in one transaction, whatever was there (restore, reset, boot). */
export function nftReplaceScript(t: NftTable | null): string {
  const clear = [`add table ${T}`, `delete table ${T}`].join('\n');
  return t ? `${clear}\n${nftTableText(t)}` : `${clear}\n`;
}

function declare(o: NftObject): string {
  return `add ${o.kind} ${T} ${o.name} { ${o.lines.join('; ')}; }`;
}

/** A plan's nft changes as one `nft -f` transaction (see NftOps for the order). */
export function nftOpsScript(ops: NftOps): string {
  if (ops.dropTable) return `add table ${T}\ndelete table ${T}\n`;
  if (ops.replace) return nftReplaceScript(ops.replace);
  const lines = [
    `add table ${T}`,
    ...ops.objectsAdd.map(declare),
    ...ops.rehook.flatMap((c) => [`flush chain ${T} ${c}`, `delete chain ${T} ${c}`]),
    ...ops.declare.map((c) => (c.hook ? `add chain ${T} ${c.name} { ${c.hook} }` : `add chain ${T} ${c.name}`)),
    ...ops.flush.map((c) => `flush chain ${T} ${c}`),
    ...ops.fill.flatMap((c) => c.rules.map((r) => `add rule ${T} ${c.name} ${r}`)),
    ...ops.drop.map((c) => `delete chain ${T} ${c}`),
    ...ops.objectsDelete.map((o) => `delete ${o.kind} ${T} ${o.name}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** Replaces one chain's rules (weights, the link monitor): sticky sets and counters elsewhere stay. */
export function nftChainScript(c: NftChain): string {
  return [`flush chain ${T} ${c.name}`, ...c.rules.map((r) => `add rule ${T} ${c.name} ${r}`), ''].join('\n');
}
