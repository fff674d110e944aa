// Fact: `table inet multilink` as `nft -s -t list table inet multilink` prints it (stateless:
// no counter values; terse: no set elements), parsed into the objects and chains the nft
// planner compares with the desired table line by line.
import type { NftFacts } from '../model/facts.js';
import type { NftChain, NftObject, NftTable } from '../model/nft.js';
import { sh, type Sh } from '../shell/sh.js';

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

/**
 * The gather's `nft` section: `nft ok|missing|broken`, then the table's listing (none when
 * there is no table). One nft process: a missing table is the listing's own error.
 */
export function nftCommand(): Sh {
  return sh`if ! command -v nft >/dev/null 2>&1; then echo 'nft missing'
elif ml_o=$(nft -s -t list table inet multilink 2>&1); then echo 'nft ok'; printf '%s\\n' "$ml_o"
else
  case $ml_o in
    *'No such file or directory'*) echo 'nft ok' ;;
    *) echo 'nft broken'; printf '%s\\n' "$ml_o" | head -n 3 ;;
  esac
fi`;
}

export function parseNftFacts(text: string): NftFacts {
  const [first = '', ...rest] = text.split('\n');
  const state = /^nft (ok|missing|broken)$/.exec(first.trim())?.[1];
  if (state === undefined) throw new Error(`unexpected nft fact ${JSON.stringify(first)}`);
  if (state === 'broken') return { state, table: null, detail: rest.join(' ').trim() };
  return { state: state as NftFacts['state'], table: state === 'ok' ? parseNftTable(rest.join('\n')) : null };
}
