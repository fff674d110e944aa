// lib.sh's one-process helpers against the real tools, under dash and BusyBox ash, in scratch
// namespaces: ml_save_sections prints for each table exactly what ml_save prints (one
// iptables-save for all tables, legacy and nft), and ml_ip_steps applies `ip -4` commands in
// one process with iproute2, one by one with BusyBox ip, and reports the command that failed
// and runs nothing after it, either way.
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { parseIptablesSave } from '../src/facts/iptables-save.js';
import { NETFILTER_TABLES } from '../src/model/desired.js';
import { ipSteps } from '../src/shell/lib.js';
import { shellLib } from '../src/shell/lib.js';
import { parseReply } from '../src/shell/reply.js';
import { netnsSupport, ScratchNetns } from './helpers/netns.js';

const support = netnsSupport();
const shells = [['dash'], ['busybox', 'ash']].filter((s) => spawnSync('sh', ['-c', `command -v ${s[0]}`]).status === 0);
const skip = !support.ok ? support.reason : shells.length < 2 ? 'dash or busybox is not installed' : undefined;
if (skip) console.warn(`skipping shell-lib-netns tests: ${skip}`);

const made: ScratchNetns[] = [];
afterAll(() => {
  for (const ns of made) ns.delete();
});

function router(): ScratchNetns {
  const ns = new ScratchNetns();
  made.push(ns);
  ns.veth('wan1', '100.64.1.2/24');
  ns.veth('wan2', '100.64.2.2/24');
  return ns;
}

function run(ns: ScratchNetns, shell: string[], flavour: 'legacy' | 'nft' | 'none', body: string): { stdout: string; stderr: string; code: number | null } {
  const r = spawnSync('ip', ['netns', 'exec', ns.name, ...shell, '-c', `${shellLib(flavour).text}\n${body}`], { encoding: 'utf8', timeout: 30_000 });
  return { stdout: r.stdout, stderr: r.stderr, code: r.status };
}

// Chains and rules in all three tables and in filter, with counters that grow.
const RULES = (t: string): string => `*mangle
:ML_PRE - [0:0]
-A PREROUTING -i wan1 -j ML_PRE
-A ML_PRE -m conntrack --ctstate NEW -j CONNMARK --set-xmark 0x100/0xff00
COMMIT
*nat
:ML_MASQ - [0:0]
-A POSTROUTING -j ML_MASQ
-A ML_MASQ -o wan2 -j MASQUERADE
COMMIT
*filter
-A INPUT -i ${t} -j ACCEPT
COMMIT
`;

/** Chains with rules, and every ML_ chain: all that multilink reads of a table. */
function meaningful(text: string): unknown {
  return parseIptablesSave(text).chains.filter((c) => c.rules.length > 0 || c.name.startsWith('ML_'));
}

describe.skipIf(skip !== undefined).each(shells)('lib.sh one-process helpers under %s', (...shell) => {
  for (const flavour of ['legacy', 'nft'] as const) {
    it(`ml_save_sections: each table as ml_save prints it, from one iptables-${flavour}-save (raw never loaded, then loaded)`, () => {
      const ns = router();
      const load = spawnSync('ip', ['netns', 'exec', ns.name, `iptables-${flavour}-restore`, '--noflush'], { input: RULES('wan1'), encoding: 'utf8' });
      expect(load.status, load.stderr).toBe(0);
      ns.exec('ping', '-c', '1', '-W', '1', '100.64.1.2');
      for (const round of [1, 2]) {
        const one = run(ns, shell, flavour, `ml_save_sections ${NETFILTER_TABLES.join(' ')}`);
        expect(one.code, one.stderr).toBe(0);
        const each = run(ns, shell, flavour, NETFILTER_TABLES.map((t) => `echo "@@ML iptables ${t}"; ml_save ${t}; echo "@@ML-rc $?"`).join('\n'));
        const a = parseReply(one.stdout).sections;
        const b = parseReply(each.stdout).sections;
        expect(a.map((s) => s.name)).toEqual(NETFILTER_TABLES.map((t) => `iptables ${t}`));
        for (const t of NETFILTER_TABLES) {
          const sa = a.find((s) => s.name === `iptables ${t}`)!;
          const sb = b.find((s) => s.name === `iptables ${t}`)!;
          expect(sa.rc).toBe(0);
          // The same chains and rules. A table iptables-save does not print when asked for all
          // (never loaded) is empty, where -t prints its empty built-in chains: no rule either way.
          expect(meaningful(sa.body), `${t} round ${round}`).toEqual(meaningful(sb.body));
          expect(sa.body).not.toMatch(/^#|\[\d+:\d+\]$/m);
        }
        expect(a.find((s) => s.name === 'iptables mangle')!.body).toContain('-A ML_PRE -m conntrack --ctstate NEW -j CONNMARK --set-xmark 0x100/0xff00');
        // No filter-table text leaves the router.
        expect(one.stdout).not.toContain('-A INPUT');
        if (round === 1) ns.exec(`iptables-${flavour}`, '-t', 'raw', '-A', 'PREROUTING', '-i', 'wan2', '-j', 'CT', '--notrack');
      }
      expect(run(ns, shell, flavour, 'ml_save_sections raw').stdout).toContain('-A PREROUTING -i wan2 -j CT --notrack');
    });
  }

  it('ml_save_sections: a failed iptables-save fails every section and prints none of its text', () => {
    const ns = router();
    const r = run(ns, shell, 'none', `ML_SAVE=false; ml_save_sections mangle nat`);
    expect(parseReply(r.stdout).sections.map((s) => [s.name, s.rc, s.body])).toEqual([
      ['iptables mangle', 1, ''],
      ['iptables nat', 1, ''],
    ]);
  });

  const commands = [
    ['route', 'replace', 'default', 'via', '100.64.1.1', 'dev', 'wan1', 'table', '101'],
    ['route', 'replace', 'default', 'via', '100.64.2.1', 'dev', 'wan2', 'table', '102'],
    ['rule', 'add', 'priority', '1000', 'fwmark', '0x100/0xff00', 'lookup', '101'],
    ['rule', 'add', 'priority', '1001', 'fwmark', '0x200/0xff00', 'lookup', '102'],
  ];
  const busyboxIp = 'ip() { busybox ip "$@"; }';
  for (const [which, prelude] of [
    ['iproute2', ''],
    ['BusyBox ip', busyboxIp],
  ] as const) {
    it(`ml_ip_steps with ${which}: every command applied, in order`, () => {
      const ns = router();
      const r = run(ns, shell, 'none', `${prelude}\n${ipSteps(commands).text}\necho done`);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(r.stdout).toBe('done\n');
      expect(ns.ip('-4', 'route', 'show', 'table', '101').trim()).toBe('default via 100.64.1.1 dev wan1');
      expect(ns.ip('-4', 'route', 'show', 'table', '102').trim()).toBe('default via 100.64.2.1 dev wan2');
      const rules = ns.ip('-4', 'rule', 'show');
      expect(rules).toContain('1000:\tfrom all fwmark 0x100/0xff00 lookup 101');
      expect(rules).toContain('1001:\tfrom all fwmark 0x200/0xff00 lookup 102');
    });

    it(`ml_ip_steps with ${which}: the failing command is reported as a step, and nothing after it runs`, () => {
      const ns = router();
      // A foreign rule with the same selector at 1000 makes the third command fail (File exists).
      ns.ip('-4', 'rule', 'add', 'priority', '1000', 'fwmark', '0x100/0xff00', 'lookup', '101');
      const r = run(ns, shell, 'none', `${prelude}\n${ipSteps(commands).text}\necho not reached`);
      expect(r.code).toBe(3);
      const failed = parseReply(r.stdout).sections.find((s) => s.name.startsWith('step-failed '));
      expect(failed?.name).toBe('step-failed ip rule add priority 1000 fwmark 0x100/0xff00 lookup 101');
      expect(failed?.rc).not.toBe(0);
      expect(failed?.body).toMatch(/File exists/);
      expect(failed?.body).not.toMatch(/Command failed/);
      expect(r.stdout).not.toContain('not reached');
      // The routes before it were applied; the rule after it was not.
      expect(ns.ip('-4', 'route', 'show', 'table', '102').trim()).toBe('default via 100.64.2.1 dev wan2');
      expect(ns.ip('-4', 'rule', 'show')).not.toContain('1001:');
    });
  }

  it('ml_ip_steps: once the dead-man timer fired, nothing runs', () => {
    const ns = router();
    const r = run(ns, shell, 'none', `ML_FIRED=/proc/self; ${ipSteps(commands).text}`);
    expect(r.code).toBe(3);
    expect(parseReply(r.stdout).sections[0]?.name).toBe('step-failed ip route replace default via 100.64.1.1 dev wan1 table 101');
    expect(ns.exec('sh', '-c', 'ip -4 route show table 101 2>/dev/null; ip -4 rule show')).not.toMatch(/100\.64\.1\.1|^1000:/m);
  });
});

describe('ipSteps', () => {
  it('refuses a word that ip -batch would take apart (quotes, comments, backslashes, blanks)', () => {
    for (const bad of ['wan#1', 'wan"1', "wan'1", 'wan\\1', 'wan 1', '']) {
      expect(() => ipSteps([['rule', 'add', 'oif', bad, 'lookup', '101']]), bad).toThrow(/not a batchable/);
    }
    expect(ipSteps([['rule', 'add', 'oif', 'wan.1@x', 'lookup', '101']]).text).toBe("ml_ip_steps 'rule add oif wan.1@x lookup 101'");
  });
});
