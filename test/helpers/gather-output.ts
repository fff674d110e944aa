// Formats HostFacts the way the gather script prints them, so the engine can be driven
// through a fake transport with the real parser in the loop.
import type { HostFacts } from '../../src/model/facts.js';
import { NETFILTER_TABLES } from '../../src/model/desired.js';
import { nftTableText } from '../../src/render/nft.js';

export function gatherOutput(f: HostFacts): string {
  const sec = (name: string, body: string): string => `@@ML ${name}\n${body}${body && !body.endsWith('\n') ? '\n' : ''}@@ML-rc 0`;
  const parts = [sec('flavour', f.flavour)];
  for (const t of NETFILTER_TABLES) {
    const chains = f.iptables[t].chains;
    const body = [`*${t}`, ...chains.map((c) => `:${c.name} ${c.policy} [0:0]`), ...chains.flatMap((c) => c.rules.map((r) => `-A ${c.name} ${r}`)), 'COMMIT'].join('\n');
    parts.push(sec(`iptables ${t}`, body));
  }
  const nft = f.nft ?? { state: 'missing', table: null };
  parts.push(sec('nft', [`nft ${nft.state}`, ...(nft.table ? [nftTableText(nft.table)] : nft.detail ? [nft.detail] : [])].join('\n')));
  parts.push(sec('ip-rule', f.ipRules.map((r) => `${r.priority}:\t${r.text}`).join('\n')));
  parts.push(sec('main-defaults', Object.entries(f.mainDefaults).map(([dev, gw]) => `default ${gw === 'dev' ? '' : `${gw} `}dev ${dev} proto dhcp metric 100`).join('\n')));
  for (const [t, routes] of Object.entries(f.routes)) parts.push(sec(`route ${t}`, routes.map((r) => `${r.text} `).join('\n')));
  for (const [k, v] of Object.entries(f.sysctls)) parts.push(sec(`sysctl ${k}`, v ?? '@@ML-absent'));
  for (const [m, s] of Object.entries(f.modules)) parts.push(sec(`module ${m}`, s));
  parts.push(sec('owned', f.owned ? JSON.stringify(f.owned) : ''));
  const gens = [...(f.generations.current === null ? [] : [`current ${f.generations.current}`]), ...f.generations.list.map((g) => `gen ${g.n} ${g.confirmed ? 'confirmed' : 'unconfirmed'}`)];
  parts.push(sec('generations', gens.join('\n')));
  parts.push(sec('monitor-script', f.monitor.script ?? ''));
  const m = f.monitor;
  const runtime = [
    ...(m.mask !== undefined ? [`mask ${m.mask}`] : []),
    ...(m.linkNames ? [`links ${m.linkNames.join(' ')}`] : []),
    ...m.links.map((l) => `link ${l.link} ${l.state} ${l.since ?? ""}`.trim()),
    m.running ? `running ${m.pid ?? 1}` : 'stopped',
  ];
  parts.push(sec('monitor-runtime', runtime.join('\n')));
  parts.push(sec('tools', `ping ${f.tools.ping}\nconntrack ${f.tools.conntrack ? 'yes' : 'no'}\nstate-fs ${f.tools.stateFs}`));
  if (f.bootHook) {
    const b = f.bootHook;
    parts.push(sec('boot-hook-init', [...(b.systemd ? ['systemd'] : []), ...(b.initd ? ['initd'] : [])].join('\n')));
    for (const [path, content] of Object.entries(b.files)) parts.push(sec(`boot-hook ${path}`, content ?? '@@ML-absent'));
    for (const [path, target] of Object.entries(b.links)) parts.push(sec(`boot-hook-link ${path}`, target ?? '@@ML-absent'));
  }
  return parts.join('\n') + '\n';
}
