// Issue 9 §2, shown on the lab: ISPs drop packets whose source is not theirs (BCP38), and
// with the README's example deployed, connections from the internet to r1's secondary WAN
// addresses and through a port forward on lte are answered by main's default route, out of
// wan1 with another link's source: 0 of 10 when measured. Acceptance: 10 of 10 to every WAN
// address and through the port forward.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabInfo } from '../src/lab/lab.js';
import { stopTestLab } from './helpers/lab.js';
import {
  addPortForward,
  deployToR1,
  hostileLabSupport,
  inboundToWanAddress,
  issue9Playbook,
  startHostileLab,
  throughPortForward,
  type PortForward,
} from './helpers/hostile-lab.js';

const can = hostileLabSupport();
if (!can.ok) console.warn(`skipping issue 9 §2 tests: ${can.reason}`);

describe.skipIf(!can.ok)('issue 9 §2: a connection that arrives on a link is answered by that link (BCP38 ISPs)', () => {
  let lab: LabInfo;
  let forward: PortForward;

  beforeAll(async () => {
    lab = await startHostileLab();
    forward = await addPortForward(lab, { link: 'lte', port: 8443 });
    const d = await deployToR1(lab, 'inbound', issue9Playbook(lab, { weights: [1, 2, 3] }));
    expect(d.outcome, d.result.stdout + d.result.stderr).toBe('changed');
  }, 120_000);

  afterAll(async () => {
    if (lab) await stopTestLab(lab);
  });

  // issue 9 §2
  it('connections to each WAN address (dsl, cable, lte): 10 of 10 each', async () => {
    const results = Object.fromEntries(
      await Promise.all(['dsl', 'cable', 'lte'].map(async (link) => [link, await inboundToWanAddress(lab, link, { perMs: 2000 })] as const)),
    );
    console.log(`inbound per WAN address: ${JSON.stringify(results)}`);
    const all = { ok: 10, failed: 0, notStarted: 0 };
    expect(results).toEqual({ dsl: all, cable: all, lte: all });
  });

  // issue 9 §2
  it('connections through a port forward on lte to a LAN server: 10 of 10', async () => {
    expect(await throughPortForward(lab, forward, { perMs: 2000 })).toEqual({ ok: 10, failed: 0, notStarted: 0 });
  });
});
