// Fact: `table inet multilink` as `nft -s -t list table inet multilink` prints it (stateless:
// no counter values; terse: no set elements), parsed into the objects and chains the nft
// planner compares with the desired table line by line.
import type { NftChain, NftObject, NftTable } from '../model/nft.js';

/** null: the table does not exist (empty output). */
export function parseNftTable(text: string): NftTable | null {
  const lines = text.split('\n').map((l) => l.trim());
  if (!lines.some((l) => /^table inet multilink \{$/.test(l))) return null;
  const table: NftTable = { objects: [], chains: [] };
  let chain: NftChain | undefined;
  let object: NftObject | undefined;
  for (const line of lines) {
    if (line === '' || /^table inet multilink \{$/.test(line)) continue;
    const head = /^(chain|set|map|ct helper|counter|quota) (\S+) \{$/.exec(line);
    if (head && !chain && !object) {
      if (head[1] === 'chain') chain = { name: head[2], rules: [] };
      else object = { kind: head[1] === 'ct helper' ? 'ct helper' : 'set', name: head[2], lines: [] };
      continue;
    }
    if (line === '}') {
      if (chain) table.chains.push(chain);
      else if (object) table.objects.push(object);
      chain = undefined;
      object = undefined;
      continue;
    }
    if (chain) {
      if (chain.rules.length === 0 && chain.hook === undefined && /^type \w+ hook /.test(line)) chain.hook = line;
      else chain.rules.push(line);
    } else if (object) {
      object.lines.push(line);
    }
  }
  return table;
}
