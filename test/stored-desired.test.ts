import { describe, expect, it } from 'vitest';
import { storedDesiredProblems } from '../src/deploy/stored-desired.js';
import type { HostConfig } from '../src/model/config.js';
import { twoLinkDesired } from './helpers/desired.js';

const cfg = { name: 'r1', settings: twoLinkDesired().settings } as unknown as HostConfig;
const tampered = (f: (d: Record<string, unknown> & ReturnType<typeof twoLinkDesired>) => void): unknown => {
  const d = JSON.parse(JSON.stringify(twoLinkDesired())) as ReturnType<typeof twoLinkDesired> & Record<string, unknown>;
  f(d);
  return d;
};

describe('a desired state read back from a router (rollback)', () => {
  it('passes when it is what multilink wrote', () => {
    expect(storedDesiredProblems(JSON.parse(JSON.stringify(twoLinkDesired())), cfg)).toEqual([]);
  });
  it('is refused when anything could reach a shell or another table', () => {
    const cases: [string, unknown][] = [
      ['another host', tampered((d) => (d.host = 'r2'))],
      ['another state folder', tampered((d) => (d.settings.stateDir = '/tmp/$(reboot)'))],
      ['a rule that ends the table', tampered((d) => d.chains[0].rules.push('-j RETURN\nCOMMIT\n*filter'))],
      ['a chain not ML_', tampered((d) => (d.chains[0].name = 'INPUT'))],
      ['a priority that is a string', tampered((d) => ((d.rules[0] as unknown as { priority: string }).priority = '1000; reboot'))],
      ['a route device with a space', tampered((d) => (d.routes[0].dev = 'wan1 x'))],
      ['a sysctl value that is not a number', tampered((d) => (d.sysctls[0].value = '1; reboot'))],
      ['a jump that goes elsewhere', tampered((d) => (d.jumps[0].rule = '-j ACCEPT'))],
    ];
    for (const [what, d] of cases) expect(storedDesiredProblems(d, cfg), what).not.toEqual([]);
  });
});
