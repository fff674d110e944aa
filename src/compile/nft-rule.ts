// One iptables rule of multilink's own vocabulary (compile/iptables-text.ts and the chains
// built from it) as the nft statement `nft list` prints back (nftables 1.0.x). The feature is
// written once, as the ML_ chains' rules; this is the nft backend's renderer of those rules.
// A token outside the vocabulary is a bug upstream and throws: it never becomes a silent
// half-rule.
import type { Family } from '../model/desired.js';

export interface NftRuleContext {
  family: Family;
  /** multilink_mark_mask. */
  mask: number;
}

/** `0x0000ff00`: nft prints marks as eight hex digits. */
export function hex8(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

/** The chain holding one family's rules of ML_X: IPv4's keep the name, IPv6's are ML6_X. */
export function nftChainName(name: string, family: Family): string {
  return family === 6 ? name.replace(/^ML_/, 'ML6_') : name;
}

/** Sets the packet's mark bits to `value` (the chain a vmap sends a connection to). */
export function markChainName(value: number): string {
  return `ML_MARK_${(value >>> 0).toString(16)}`;
}

/**
 * Where the balancing chain sends a new connection for the link marked `value`: counts it
 * (status's new connections per link and family) and marks it.
 */
export function balanceTargetName(value: number, family: Family): string {
  return nftChainName(`ML_BAL_${(value >>> 0).toString(16)}`, family);
}

/** Stores `value` in the connection's mark bits. */
export function ctMarkChainName(value: number): string {
  return `ML_CTMARK_${(value >>> 0).toString(16)}`;
}

/** `KEY set KEY & AND | OR` as nft prints `--set-xmark VALUE/MASK` (bits outside the mask kept). */
export function markSet(key: 'meta mark' | 'ct mark', value: number, mask: number): string {
  const and = (~mask | value) >>> 0;
  const or = value >>> 0;
  const parts: string[] = [key];
  if (and !== 0xffffffff) parts.push(`& ${hex8(and)}`);
  if (or !== 0) parts.push(`| ${hex8(or)}`);
  return `${key} set ${parts.join(' ')}`;
}

/** `meta mark & M == V`, or `meta mark V` for a full mask; `!=` negated. */
export function markMatchNft(value: number, mask: number, negate = false): string {
  if (mask >>> 0 === 0xffffffff) return `meta mark ${negate ? '!= ' : ''}${hex8(value)}`;
  return `meta mark & ${hex8(mask)} ${negate ? '!=' : '=='} ${hex8(value)}`;
}

/** `1000:2000` → `1000-2000`. */
function port(p: string): string {
  return p.replace(':', '-');
}

function address(a: string, family: Family): string {
  return family === 6 ? a.replace(/\/128$/, '') : a.replace(/\/32$/, '');
}

function fail(rule: string, why: string): never {
  throw new Error(`no nft form for the rule '${rule}': ${why}`);
}

/** The vmap that copies a connection's mark bits onto its packets (CONNMARK --restore-mark). */
function restoreVmap(marks: readonly number[], mask: number): string {
  return `ct mark & ${hex8(mask)} vmap { ${marks.map((m) => `${hex8(m)} : jump ${markChainName(m)}`).join(', ')} }`;
}

/** The vmap that stores a packet's mark bits in its connection (CONNMARK --save-mark). */
function saveVmap(marks: readonly number[], mask: number): string {
  return `meta mark & ${hex8(mask)} vmap { ${marks.map((m) => `${hex8(m)} : jump ${ctMarkChainName(m)}`).join(', ')} }`;
}

/**
 * One rule. `marks` are the non-zero mark values multilink sets (its links' and the pinned
 * one): nft 1.0.x cannot copy masked bits between the packet and the connection mark, so the
 * CONNMARK rules become a vmap over those values.
 */
export function nftRule(rule: string, ctx: NftRuleContext, marks: readonly number[]): string {
  const t = rule.trim().split(/\s+/);
  const out: string[] = [];
  let negate = false;
  let proto: string | undefined;
  let protoAt = -1;
  let protoUsed = false;
  const ip = ctx.family === 6 ? 'ip6' : 'ip';
  const need = (i: number): string => t[i] ?? fail(rule, `'${t[i - 1]}' without a value`);
  const useProto = (): string => {
    protoUsed = true;
    return proto ?? fail(rule, 'a port match without -p');
  };
  for (let i = 0; i < t.length; i++) {
    const w = t[i];
    const not = negate;
    negate = false;
    switch (w) {
      case '!':
        negate = true;
        break;
      case '-i':
      case '-o':
        out.push(`${w === '-i' ? 'iifname' : 'oifname'} ${not ? '!= ' : ''}"${need(++i)}"`);
        break;
      case '-s':
      case '-d':
        out.push(`${ip} ${w === '-s' ? 'saddr' : 'daddr'} ${not ? '!= ' : ''}${address(need(++i), ctx.family)}`);
        break;
      case '-p':
        proto = need(++i);
        protoAt = out.length;
        break;
      case '-m': {
        const m = need(++i);
        if (m === 'mark') {
          let neg = false;
          if (t[i + 1] === '!') {
            neg = true;
            i++;
          }
          if (t[++i] !== '--mark') fail(rule, '-m mark without --mark');
          const [v, mk] = need(++i).split('/');
          out.push(markMatchNft(Number(v), mk === undefined ? 0xffffffff : Number(mk), neg));
        } else if (m === 'conntrack') {
          if (t[++i] !== '--ctstate') fail(rule, '-m conntrack without --ctstate');
          out.push(`ct state ${need(++i).toLowerCase()}`);
        } else if (m === 'tcp' || m === 'udp') {
          const p = useProto();
          while (t[i + 1] === '--sport' || t[i + 1] === '--dport' || (t[i + 1] === '!' && t[i + 2] === '--tcp-flags') || t[i + 1] === '--tcp-flags') {
            let neg = false;
            if (t[i + 1] === '!') {
              neg = true;
              i++;
            }
            const opt = t[++i];
            if (opt === '--tcp-flags') {
              const maskFlags = need(++i).toLowerCase();
              const set = need(++i).toLowerCase();
              out.push(`tcp flags ${neg ? '!= ' : ''}${set} / ${maskFlags}`);
            } else {
              out.push(`${p} ${opt === '--sport' ? 'sport' : 'dport'} ${neg ? '!= ' : ''}${port(need(++i))}`);
            }
          }
        } else if (m === 'multiport') {
          const p = useProto();
          const opt = t[++i];
          if (opt !== '--dports' && opt !== '--sports') fail(rule, `multiport ${opt}`);
          out.push(`${p} ${opt === '--dports' ? 'dport' : 'sport'} { ${need(++i).split(',').map(port).join(', ')} }`);
        } else if (m === 'addrtype') {
          if (t[++i] !== '--dst-type') fail(rule, 'addrtype without --dst-type');
          const types = need(++i).toLowerCase().split(',');
          out.push(`fib daddr type ${types.length === 1 ? types[0] : `{ ${types.join(', ')} }`}`);
        } else {
          fail(rule, `match -m ${m}`);
        }
        break;
      }
      case '-j': {
        const target = need(++i);
        const rest = t.slice(i + 1);
        i = t.length;
        out.push(nftTarget(target, rest, rule, ctx, marks));
        break;
      }
      default:
        fail(rule, `'${w}'`);
    }
  }
  if (proto !== undefined && !protoUsed) out.splice(protoAt, 0, `meta l4proto ${proto}`);
  // A rule without a target only counts (ML_ACCT).
  if (!t.includes('-j')) out.push('counter');
  return out.join(' ');
}

function nftTarget(target: string, args: string[], rule: string, ctx: NftRuleContext, marks: readonly number[]): string {
  const a = args.join(' ');
  switch (target) {
    case 'RETURN':
      return 'return';
    case 'MASQUERADE':
      return 'masquerade';
    case 'MARK': {
      const m = /^--set-xmark (0x[0-9a-f]+)\/(0x[0-9a-f]+)$/.exec(a) ?? fail(rule, `MARK ${a}`);
      return markSet('meta mark', Number(m[1]), Number(m[2]));
    }
    case 'CONNMARK': {
      const m = /^--(restore|save)-mark --nfmask (0x[0-9a-f]+) --ctmask (0x[0-9a-f]+)$/.exec(a) ?? fail(rule, `CONNMARK ${a}`);
      if (Number(m[2]) !== ctx.mask || Number(m[3]) !== ctx.mask) fail(rule, 'CONNMARK with another mask than multilink_mark_mask');
      return m[1] === 'restore' ? restoreVmap(marks, ctx.mask) : saveVmap(marks, ctx.mask);
    }
    case 'CT': {
      const m = /^--helper (\w+)$/.exec(a) ?? fail(rule, `CT ${a}`);
      return `ct helper set "${m[1]}"`;
    }
    default:
      if (!/^ML_\w+$/.test(target) || a !== '') fail(rule, `target ${target} ${a}`);
      return `jump ${nftChainName(target, ctx.family)}`;
  }
}
