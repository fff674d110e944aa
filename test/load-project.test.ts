// loadProject on good input: defaults, templates (typed and mixed), the weights overlay,
// relative local paths, --limit, and the shipped example inventory.
import { homedir } from 'node:os';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../src/diagnostics.js';
import { assertNoErrors, loadProject, type LoadedProject } from '../src/load/resolve.js';
import type { HostConfig } from '../src/model/config.js';

const GOOD = relative(process.cwd(), fileURLToPath(new URL('./fixtures/load/good/', import.meta.url)));
const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Good fixtures must load without a single diagnostic, warnings included. */
function clean(project: LoadedProject): LoadedProject {
  if (project.diagnostics.length > 0) throw new Error(project.diagnostics.map(formatDiagnostic).join('\n'));
  assertNoErrors(project);
  return project;
}

const hostOf = (project: LoadedProject, name: string): HostConfig => {
  const h = project.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`no host ${name}`);
  return h;
};

describe('defaults', () => {
  const project = clean(loadProject(`${GOOD}/defaults/inventory.yaml`));
  const d1 = hostOf(project, 'd1');

  it('fills every default of a minimal play', () => {
    const { links, exceptions, pos, ...play } = d1.play;
    expect(play).toEqual({ name: 'defaults', method: 'random', traffic: ['forwarded'], lan: ['lan0'], helpers: [], rpFilter: 'loose' });
    expect(links.map(({ pos: _, ...l }) => l)).toEqual([
      { name: 'dsl', interface: 'wan1', gateway: '100.64.1.1', weight: 1, masquerade: true, tier: 1, inbound: true },
    ]);
    expect(exceptions).toEqual([]);
    expect(pos).toEqual({ file: `${GOOD}/defaults/playbook.yaml`, line: 1, col: 3 });
  });

  it('fills default settings and connection', () => {
    expect(d1.settings).toEqual({ stateDir: '/var/lib/multilink', runDir: '/var/run/multilink', markMask: 0xff00, tableBase: 100, rulePriority: 1000, boot: 'auto', iptables: 'auto', firewall: 'auto' });
    expect(d1.connection).toEqual({ host: 'd1', become: false });
  });

  it('fills health defaults', () => {
    expect(hostOf(project, 'd2').play.health).toEqual({ targets: ['198.51.100.1'], intervalMs: 1000, downAfter: 3, upAfter: 3, quorum: 1 });
  });
});

describe('templates keep the var type when they are the whole value', () => {
  const d2 = hostOf(clean(loadProject(`${GOOD}/defaults/inventory.yaml`)), 'd2');

  it('substitutes numbers, lists and chained vars', () => {
    expect(d2.play.links.map((l) => [l.name, l.weight, l.masquerade, l.tier])).toEqual([
      ['dsl', 3, false, 1],
      ['lte', 1, true, 2],
    ]);
    expect(d2.play.lan).toEqual(['lan0', 'lan1']);
    expect(d2.play.exceptions.map(({ pos: _, ...e }) => e)).toEqual([
      { destination: '203.0.113.5/32', via: 'main' },
      { protocol: 'tcp', ports: [80, 443], via: 'lte' },
      { protocol: 'udp', ports: [8080], via: 'dsl' },
    ]);
  });

  it('reads play options and string numbers in settings', () => {
    expect([d2.play.method, d2.play.traffic, d2.play.helpers, d2.play.rpFilter]).toEqual(['nth', ['local', 'forwarded'], ['ftp'], 'off']);
    expect(d2.settings).toEqual({ stateDir: '/opt/multilink', runDir: '/var/run/multilink', markMask: 0xff0000, tableBase: 200, rulePriority: 2000, boot: 'systemd', iptables: 'nft', firewall: 'auto' });
  });
});

describe('precedence inventory as a project', () => {
  const dir = `${GOOD}/precedence`;
  const project = clean(loadProject(`${dir}/inventory.yaml`));

  it('templates each host from its own vars', () => {
    expect(project.hosts.map((h) => [h.name, h.play.links[0].gateway])).toEqual([
      ['h1', '100.64.1.1'],
      ['h2', '100.64.1.1'],
      ['h3', '100.64.9.1'],
    ]);
  });

  it('applies the multilink_weights overlay of the host only', () => {
    expect(project.hosts.map((h) => h.play.links.map((l) => l.weight))).toEqual([[5, 2], [1, 2], [1, 2]]);
  });

  it('resolves local paths against the file that set them, ~/ against home', () => {
    const h1 = hostOf(project, 'h1');
    expect(h1.connection).toEqual({ host: 'h1', port: 2222, privateKeyFile: resolve(dir, 'host_vars/keys/h1'), become: false });
    expect(h1.settings.knownHosts).toBe(resolve(dir, 'known_hosts'));
    expect(hostOf(project, 'h3').connection.privateKeyFile).toBe(resolve(homedir(), '.ssh/id_h3'));
    expect(hostOf(project, 'h2').connection).toEqual({ host: '192.0.2.2', become: true });
  });

  it('resolves only the hosts --limit selects', () => {
    const limited = clean(loadProject(`${dir}/inventory.yaml`, { limit: 'parent:!child' }));
    expect(limited.hosts.map((h) => h.name)).toEqual(['h2']);
    expect(limited.untargeted).toEqual([]);
  });
});

describe('shipped example', () => {
  const project = clean(loadProject(resolve(ROOT, 'inventory/example.yaml')));

  it('targets both edge routers with the three uplinks, LTE drained by the overlay', () => {
    expect(project.untargeted).toEqual([]);
    expect(project.hosts.map((h) => [h.name, h.connection.host, h.connection.port, h.connection.user])).toEqual([
      ['r1', '203.0.113.10', undefined, 'root'],
      ['r2', '203.0.113.11', 2222, 'root'],
    ]);
    const r1 = hostOf(project, 'r1');
    expect(r1.play.links.map((l) => [l.name, l.interface, l.gateway, l.weight, l.tier])).toEqual([
      ['dsl', 'wan1', '100.64.1.1', 1, 1],
      ['cable', 'wan2', '100.64.2.1', 2, 1],
      ['lte', 'wan3', '100.64.3.1', 0, 2],
    ]);
    expect(r1.play.traffic).toEqual(['forwarded', 'local']);
    expect(r1.play.health?.targets).toEqual(['198.51.100.1', '198.51.100.2']);
    expect(r1.play.pos.file).toBe(resolve(ROOT, 'playbooks/balance.yaml'));
  });
});

describe('untargeted hosts', () => {
  it('lists hosts that no play with links targets', () => {
    const project = loadProject(resolve(ROOT, 'test/fixtures/load/bad/targets/inventory.yaml'), { limit: 'c1' });
    expect(project.untargeted).toEqual(['c1']);
    expect(project.hosts).toEqual([]);
  });
});

describe('an INI inventory as a project', () => {
  const project = clean(loadProject(`${GOOD}/ini/hosts`));

  it('targets by pattern, templates from [edge:vars], takes INI literals as typed values', () => {
    expect(project.hosts.map((h) => h.name)).toEqual(['r1', 'r3', 'r4']);
    expect(project.untargeted).toEqual(['r2']);
    const r1 = hostOf(project, 'r1');
    expect(r1.play.links.map((l) => [l.name, l.gateway, l.weight])).toEqual([
      ['dsl', '100.64.1.1', 1],
      ['lte', '100.64.3.1', 0], // multilink_weights={'lte': 0} overlays the templated 2
    ]);
    expect(r1.settings.tableBase).toBe(200);
  });

  it('connects with the pre-2.0 ansible_ssh_* names, which win where both are set, as in Ansible\'s ssh connection', () => {
    expect(hostOf(project, 'r1').connection).toEqual({ host: 'r1', user: 'ops', become: false });
    expect(hostOf(project, 'r3').connection).toEqual({ host: '192.0.2.13', port: 2222, user: 'admin', become: true });
    expect(hostOf(project, 'r4').connection).toEqual({ host: '192.0.2.14', port: 2200, become: false });
  });
});
