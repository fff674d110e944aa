// The lab's playbooks (pure): the default lab's (three uplinks of every router, shipped as
// playbooks/lab.yaml) and the data plane's (r1 over its ISPs), with the options tests and
// the benchmark vary: method, weights, tiers, traffic, health, extra links.
import type { BalanceMethod, TrafficKind } from '../model/config.js';
import { yamlText } from './lab-yaml.js';
import { SERVER_ADDRESS6 } from './dataplane-plan.js';
import { LAB_UPLINKS, MANAGEMENT_RANGE } from './topology.js';

export type { BalanceMethod, TrafficKind };

export interface PlaybookLink {
  name: string;
  interface: string;
  /** An IPv4 address, or `auto` (follow the interface's DHCP/PPP default route) or `none` (point-to-point). */
  gateway: string;
  /** IPv6 (issue 18): `auto` (from the link's RAs), `none` or an address; absent: no IPv6 on the link. */
  gateway6?: string;
  weight: number;
  tier?: number;
  masquerade?: boolean;
  /** method adaptive: bounds of the link's share. */
  minShare?: number;
  maxShare?: number;
}

export interface PlaybookException {
  destination?: string;
  source?: string[];
  in?: string[];
  protocol?: 'tcp' | 'udp';
  ports?: number[];
  via: string;
}

export interface HealthSettings {
  targets: readonly string[];
  intervalS: number;
  downAfter: number;
  upAfter: number;
  quorum: number;
}

export interface PlaybookInput {
  name: string;
  hosts: string;
  method: BalanceMethod;
  traffic: readonly TrafficKind[];
  lan: readonly string[];
  links: readonly PlaybookLink[];
  exceptions?: readonly PlaybookException[];
  /** Comment before exception i. */
  exceptionComments?: Readonly<Record<number, string>>;
  helpers?: readonly string[];
  rpFilter?: 'loose' | 'off';
  health?: HealthSettings;
}

/** One play as YAML, keys in the order the README documents them. */
export function renderPlay(comment: readonly string[], p: PlaybookInput): string {
  const play: Record<string, unknown> = {
    name: p.name,
    hosts: p.hosts,
    balance: { method: p.method, traffic: [...p.traffic], lan: [...p.lan] },
    links: p.links.map((l) => ({
      name: l.name,
      interface: l.interface,
      gateway: l.gateway,
      ...(l.gateway6 === undefined ? {} : { gateway6: l.gateway6 }),
      weight: l.weight,
      ...(l.masquerade === undefined ? {} : { masquerade: l.masquerade }),
      ...(l.tier === undefined || l.tier === 1 ? {} : { tier: l.tier }),
      ...(l.minShare === undefined ? {} : { min_share: l.minShare }),
      ...(l.maxShare === undefined ? {} : { max_share: l.maxShare }),
    })),
  };
  if (p.exceptions?.length) play.exceptions = p.exceptions.map((e) => ({ ...e }));
  if (p.helpers?.length) play.helpers = [...p.helpers];
  if (p.rpFilter) play.rp_filter = p.rpFilter;
  if (p.health) {
    const h = p.health;
    play.health = { targets: [...h.targets], interval: `${h.intervalS}s`, down_after: h.downAfter, up_after: h.upAfter, quorum: h.quorum };
  }
  return yamlText([play], { comment, itemComments: p.exceptionComments ? { exceptions: p.exceptionComments } : undefined });
}

/** playbooks/lab.yaml: the three uplinks of every lab router; management and SSH/DNS kept off the balance. */
export function renderPlaybook(): string {
  const dsl = LAB_UPLINKS[0].name;
  return renderPlay(['The lab playbook: three uplinks of every simulated router (`multilink lab up`).'], {
    name: 'lab routers over three uplinks',
    hosts: 'lab',
    method: 'random',
    traffic: ['forwarded', 'local'],
    lan: ['lan0'],
    links: LAB_UPLINKS.map((u) => ({ name: u.name, interface: u.interface, gateway: u.gateway, weight: u.weight, tier: u.tier })),
    exceptions: [
      { destination: MANAGEMENT_RANGE, via: 'main' },
      { protocol: 'tcp', ports: [22], via: dsl },
      { protocol: 'udp', ports: [53], via: dsl },
    ],
    exceptionComments: { 0: 'management must never be balanced: the SSH path to the routers stays on normal routing' },
    helpers: ['ftp'],
    rpFilter: 'loose',
  });
}

export interface DataplanePlaybookInput {
  method: BalanceMethod;
  /** Weight per link in LAB_UPLINKS order. */
  weights: readonly number[];
  /** Tier per link in LAB_UPLINKS order; default all 1. */
  tiers?: readonly number[];
  /** method adaptive: share bounds per link in LAB_UPLINKS order. */
  bounds?: readonly { minShare?: number; maxShare?: number }[];
  /** Default [forwarded]: the client's traffic only. */
  traffic?: readonly TrafficKind[];
  health?: HealthSettings;
  /** More of r1's uplinks after the three (e.g. the data plane's DHCP and point-to-point ones). */
  extraLinks?: readonly PlaybookLink[];
  exceptions?: readonly PlaybookException[];
  /**
   * `lab up --ipv6`: `gateway6: auto` on the three ISP links, and with health the server's
   * IPv6 address among the targets (when none is IPv6 yet), so each link's IPv6 is judged too.
   */
  ipv6?: boolean;
}

/** Health targets with the server's IPv6 address added when IPv6 is on and no target is IPv6. */
export function healthTargets(targets: readonly string[], ipv6: boolean): string[] {
  return ipv6 && !targets.some((t) => t.includes(':')) ? [...targets, SERVER_ADDRESS6] : [...targets];
}

/** The data-plane playbook: r1 over its ISPs, balancing traffic from lan0. */
export function renderDataplanePlaybook(input: DataplanePlaybookInput): string {
  const ipv6 = input.ipv6 ?? false;
  return renderPlay(['The data-plane lab playbook (`multilink lab up --dataplane`): r1 over rate-limited ISPs.'], {
    name: 'data-plane lab router over its ISPs',
    hosts: 'lab',
    method: input.method,
    traffic: input.traffic ?? ['forwarded'],
    lan: ['lan0'],
    links: [
      ...LAB_UPLINKS.map((u, i) => ({ name: u.name, interface: u.interface, gateway: u.gateway, ...(ipv6 ? { gateway6: 'auto' } : {}), weight: input.weights[i], tier: input.tiers?.[i], ...input.bounds?.[i] })),
      ...(input.extraLinks ?? []),
    ],
    exceptions: input.exceptions,
    helpers: ['ftp'],
    rpFilter: 'loose',
    health: input.health && { ...input.health, targets: healthTargets(input.health.targets, ipv6) },
  });
}

/** Weights proportional to the rates, reduced by their gcd: 20:40:60 → 1:2:3. */
export function weightsForRates(rates: readonly number[]): number[] {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const g = rates.reduce((a, b) => gcd(a, b), 0);
  return rates.map((r) => r / g);
}
