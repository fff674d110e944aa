// `weights` writes the whole effective set at the level it writes, says each targeted host's
// weights before -> after, and refuses an edit that would not take effect on a targeted host
// (issue 22 §1). Host vars replace group vars whole: writing { dsl: 2 } alone on r1 gave
// r1's drained LTE its playbook weight back.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../src/cli.js';
import { loadProject } from '../src/load/resolve.js';
import { FakeTransport } from '../src/transport/fake-transport.js';
import { hermeticWorld } from './helpers/ansible-world.js';

const INVENTORY = `all:
  vars:
    multilink_playbooks: [pb.yaml]
  children:
    edge:
      hosts:
        r1: { ansible_host: 192.0.2.1 }
        r2: { ansible_host: 192.0.2.2 }
      vars:
        multilink_weights: { lte: 0 }   # metered backup: drained
    core:
      hosts:
        c1: { ansible_host: 192.0.2.3 }
`;
const PLAYBOOK = `- hosts: all
  balance: { lan: lan0 }
  links:
    - { name: dsl, interface: wan1, gateway: 100.64.1.1, weight: 1 }
    - { name: cable, interface: wan2, gateway: 100.64.2.1, weight: 2 }
    - { name: lte, interface: wan3, gateway: 100.64.3.1, weight: 3 }
`;

const dir = mkdtempSync(join(tmpdir(), 'ml-weights-eff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const inv = join(dir, 'inv.yaml');

async function weights(...args: string[]): Promise<{ code: number; stderr: string; transport: FakeTransport }> {
  let stderr = '';
  const transport = new FakeTransport();
  const code = await run(['node', 'multilink', 'weights', inv, ...args], { out: () => undefined, err: (t) => (stderr += `${t}\n`) }, () => transport, undefined, hermeticWorld());
  return { code, stderr, transport };
}

function weightsOf(host: string): Record<string, number> {
  const p = loadProject(inv, {});
  const h = p.hosts.find((x) => x.name === host)!;
  return Object.fromEntries(h.play.links.map((l) => [l.name, l.weight]));
}

describe('weights keeps what it does not change', () => {
  beforeEach(() => {
    writeFileSync(inv, INVENTORY);
    writeFileSync(join(dir, 'pb.yaml'), PLAYBOOK);
  });

  it('--limit HOST writes the host its group weights too: the drained LTE stays drained', async () => {
    expect(weightsOf('r1')).toEqual({ dsl: 1, cable: 2, lte: 0 });
    const r = await weights('dsl=2', '--limit', 'r1');
    expect(readFileSync(inv, 'utf8')).toContain('r1: { ansible_host: 192.0.2.1, multilink_weights: { lte: 0, dsl: 2 } }');
    expect(weightsOf('r1')).toEqual({ dsl: 2, cable: 2, lte: 0 });
    expect(weightsOf('r2')).toEqual({ dsl: 1, cable: 2, lte: 0 });
    expect(r.stderr).toContain('r1: dsl=1 cable=2 lte=0 -> dsl=2 cable=2 lte=0');
    expect(r.stderr).not.toContain('r2:');
  });

  it('a group level keeps its own weights and adds the new one; every host of it is shown', async () => {
    const r = await weights('cable=1', '--limit', 'edge');
    expect(readFileSync(inv, 'utf8')).toContain('multilink_weights: { lte: 0, cable: 1 }   # metered backup: drained');
    expect(r.stderr).toContain('r1: dsl=1 cable=2 lte=0 -> dsl=1 cable=1 lte=0');
    expect(r.stderr).toContain('r2: dsl=1 cable=2 lte=0 -> dsl=1 cable=1 lte=0');
  });

  it('refuses, before any host is contacted, an edit a more specific level would override', async () => {
    const r = await weights('cable=5');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('host r1: cable would be 2, not 5');
    expect(r.stderr).toContain('host r2: cable would be 2, not 5');
    expect(r.stderr).toContain(`multilink_weights for it is set at ${inv}:10:9`);
    expect(r.stderr).toContain('nothing was written');
    expect(readFileSync(inv, 'utf8')).toBe(INVENTORY);
    expect(r.transport.connects).toEqual([]);
  });

  it('--no-write shows before -> after and writes nothing', async () => {
    const r = await weights('lte=1', '--limit', 'r2', '--no-write');
    expect(r.stderr).toContain('r2: dsl=1 cable=2 lte=0 -> dsl=1 cable=2 lte=1');
    expect(readFileSync(inv, 'utf8')).toBe(INVENTORY);
  });
});
