// iptables-restore text for the ML_ chains. Used with --noflush: declaring `:ML_X - [0:0]`
// creates the chain or empties an existing one (legacy and nft alike), so the payload
// replaces exactly our chains and leaves everyone else's rules alone.
import { NETFILTER_TABLES, type ChainSpec, type DesiredState, type JumpSpec, type NetfilterTable } from '../model/desired.js';

export type JumpMode = 'append' | 'insert' | 'delete';

/** `-A CHAIN rule`, `-I CHAIN 1 rule` (our jump ahead of anyone else's rules) or `-D CHAIN rule`. */
export function renderJump(j: JumpSpec, mode: JumpMode = 'append'): string {
  switch (mode) {
    case 'append':
      return `-A ${j.chain} ${j.rule}`;
    case 'insert':
      return `-I ${j.chain} 1 ${j.rule}`;
    case 'delete':
      return `-D ${j.chain} ${j.rule}`;
  }
}

/** `-A NAME rule` lines of one chain, without its declaration. */
export function renderChainRules(chain: ChainSpec): string[] {
  return chain.rules.map((r) => `-A ${chain.name} ${r}`);
}

/**
 * A --noflush payload: per table, the chain declarations, their rules, then the jump lines.
 * Inserted jumps are written last-first, so that after all `-I CHAIN 1` lines ran they stand
 * in the order given. A table with nothing to do is left out.
 */
export function renderRestorePayload(chains: ChainSpec[], jumps: JumpSpec[] = [], jumpMode: JumpMode = 'insert'): string {
  const blocks: string[] = [];
  for (const table of NETFILTER_TABLES) {
    const tChains = chains.filter((c) => c.table === table);
    const tJumps = jumps.filter((j) => j.table === table);
    if (tChains.length === 0 && tJumps.length === 0) continue;
    const ordered = jumpMode === 'insert' ? [...tJumps].reverse() : tJumps;
    blocks.push(
      [
        `*${table}`,
        ...tChains.map((c) => `:${c.name} - [0:0]`),
        ...tChains.flatMap(renderChainRules),
        ...ordered.map((j) => renderJump(j, jumpMode)),
        'COMMIT',
      ].join('\n'),
    );
  }
  return blocks.length === 0 ? '' : `${blocks.join('\n')}\n`;
}

/** The ML_ chains of the desired state (all tables, or only those given), without jumps. */
export function renderChains(desired: DesiredState, tables: readonly NetfilterTable[] = NETFILTER_TABLES): string {
  return renderRestorePayload(desired.chains.filter((c) => tables.includes(c.table)));
}

/** Only the balance chain: what a weight change or the link monitor loads. */
export function renderBalanceChain(desired: DesiredState, rules?: string[]): string {
  const { table, name } = desired.balanceChain;
  const chain = desired.chains.find((c) => c.table === table && c.name === name);
  return renderRestorePayload([{ table, name, rules: rules ?? chain?.rules ?? [] }]);
}
