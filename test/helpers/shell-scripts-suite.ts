// Every router-side program: the .sh files under src/ as they ship, and the scripts
// multilink generates from them for real plays (transaction, apply, restore, generation,
// control, monitor, gather, status, boot hook, remove's purge). Each must pass shellcheck (-s sh) and parse
// under dash and BusyBox ash.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { compileHost } from '../../src/compile/desired-state.js';
import { freshFacts } from '../../src/facts/fresh.js';
import { gatherRequest } from '../../src/facts/gather-request.js';
import { gatherScript } from '../../src/facts/gather.js';
import { statusScript } from '../../src/facts/status-gather.js';
import { statusRequest } from '../../src/deploy/status.js';
import { withBackend } from '../../src/plan/backend.js';
import { planHost } from '../../src/plan/plan.js';
import { scopeOf, snapshotFromDesired, snapshotFromFacts } from '../../src/apply/snapshot.js';
import { beginScript, confirmScript, controlScript, decisionScript, generationStateScript, planScript, restoreScript, type TransactionInput } from '../../src/apply/transaction.js';
import { monitorScript } from '../../src/render/monitor.js';
import { bootProgram, initdProgram } from '../../src/remote/programs.js';
import type { BootSetting } from '../../src/model/config.js';
import type { Sh } from '../../src/shell/sh.js';
import { exception, hostConfig, link, METHODS } from '../fixtures/render/host-config.js';
import { convergedFactsFor } from './converged.js';
import { planRemove, removalDesired, removalRequest } from '../../src/plan/remove.js';
import { INITD_SCRIPT } from '../../src/render/boot.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = ['shellcheck', 'dash', 'busybox'].filter((c) => !has(c));
if (missing.length) console.log(`shell checks skipped: ${missing.join(', ')} not installed (apt-get install shellcheck dash busybox)`);

let dir = '';

function shFiles(root: string): string[] {
  return readdirSync(root).flatMap((n) => {
    const p = join(root, n);
    return statSync(p).isDirectory() ? shFiles(p) : p.endsWith('.sh') ? [p] : [];
  });
}

/** shellcheck's findings, and syntax errors of dash and ash, for one file ('' when clean). */
function check(file: string): string {
  const problems: string[] = [];
  const sc = spawnSync('shellcheck', ['-s', 'sh', '-f', 'gcc', file], { encoding: 'utf8' });
  if (sc.status !== 0) problems.push(sc.stdout || sc.stderr);
  for (const shell of [['dash', '-n'], ['busybox', 'ash', '-n']]) {
    const r = spawnSync(shell[0], [...shell.slice(1), file], { encoding: 'utf8' });
    if (r.status !== 0) problems.push(`${shell.join(' ')}: ${r.stderr}`);
  }
  return problems.join('\n');
}

function checkScript(name: string, script: Sh | string): string {
  const file = join(dir, `${name}.sh`);
  writeFileSync(file, typeof script === 'string' ? script : `${script.text}\n`);
  return check(file);
}

/**
 * The router-side shell checks, in two halves that run as two test files (shell-scripts and
 * shell-scripts-2), so the parallel group's two workers share them: each generated variant
 * takes shellcheck about 8 s.
 */
export function shellScriptSuite(part: 0 | 1): void {
describe.skipIf(missing.length > 0)(`router-side shell (part ${part + 1} of 2)`, () => {
  dir = mkdtempSync(join(tmpdir(), 'ml-sh-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  if (part === 0) {
    it('every .sh file under src/ passes shellcheck and parses under dash and BusyBox ash', () => {
      const files = shFiles(fileURLToPath(new URL('../../src', import.meta.url)));
      expect(files.length).toBeGreaterThanOrEqual(8);
      for (const f of files) expect(check(f), f).toBe('');
    });
  }

  // Dual stack (issue 18): gateway6 auto, fixed and none, an IPv6 exception and target.
  // The nft backend (issue 19): its payloads, reset and the monitor's nft loads.
  // Sub-second probes (issue 20): the monitor's streaming probes, dual stack (one variant: only
  // the monitor script differs, and each variant checks every script, ~20 s).
  const variants: { method: (typeof METHODS)[number] | 'adaptive'; ipv6: boolean; nft: boolean; intervalMs?: number }[] = [
    ...[...METHODS, 'adaptive' as const].map((method) => ({ method, ipv6: false, nft: false })),
    { method: 'random' as const, ipv6: true, nft: false, intervalMs: 250 },
    { method: 'random' as const, ipv6: true, nft: false },
    { method: 'sticky' as const, ipv6: true, nft: false },
    { method: 'sticky' as const, ipv6: true, nft: true },
  ];
  for (const { method, ipv6, nft, intervalMs = 1000 } of variants.filter((_, i) => i % 2 === part)) {
    it(`the scripts generated for a ${method} play with health, ftp and exceptions pass too${ipv6 ? ' (dual stack)' : ''}${nft ? ' (nft backend)' : ''}${intervalMs < 1000 ? ` (interval ${intervalMs} ms)` : ''}`, () => {
      const six = (gateway6: string) => (ipv6 ? { gateway6 } : {});
      const cfg = hostConfig({
        method,
        links: [link('dsl', 1, 1, six('auto')), link('cable', 2, 2, { masquerade: false, ...six('fe80::1') }), link('lte', 3, 3, { tier: 2, ...six('none') })],
        exceptions: [
          exception({ destination: '192.0.2.0/24', via: 'main' }),
          exception({ protocol: 'tcp', ports: [22, 443], via: 'dsl' }),
          ...(ipv6 ? [exception({ destination: '2001:db8:ff::/48', via: 'cable' })] : []),
        ],
        helpers: ['ftp'],
        health: { targets: ['198.51.100.1', '198.51.100.2', ...(ipv6 ? ['2001:db8:ff::1'] : [])], intervalMs, downAfter: 3, upAfter: 3, quorum: 1 },
      });
      if (nft) cfg.settings = { ...cfg.settings, firewall: 'nft' };
      const desired = withBackend(compileHost(cfg), nft ? 'nft' : 'iptables');
      // A router with the kernel's defaults: rp_filter 1, no forwarding.
      const facts = { ...freshFacts(desired), sysctls: Object.fromEntries(desired.sysctls.map((x) => [x.key, x.key.endsWith('ip_forward') ? '0' : '1'])) };
      const plan = planHost(desired, facts);
      const ops = plan.ops!;
      const scope = scopeOf({ priorities: desired.rules.map((r) => r.priority), tables: desired.routes.map((r) => r.table) });
      const t: TransactionInput = {
        id: '0123456789abcdef',
        req: gatherRequest(desired),
        priorGather: '@@ML flavour\nnft\n@@ML-rc 0',
        ops,
        desired,
        ownedBefore: null,
        prior: snapshotFromFacts(facts, scope, desired.sysctls.map((s) => s.key)),
        target: snapshotFromDesired(desired, ops.owned),
        scope,
        meta: { host: 'r1' },
        confirmTimeoutS: 60,
      };
      const txn = { stateDir: desired.settings.stateDir, id: t.id, holder: "ops@ctl pid 1 it's me", leaseS: 450, waitS: 120 };
      const boots: BootSetting[] = ['auto', 'systemd', 'initd', 'none', '/tmp/x/hook'];
      const scripts: [string, Sh | string][] = [
        ['gather', gatherScript(gatherRequest(desired))],
        ['status', statusScript(statusRequest(desired))],
        ['begin', beginScript(t.req, txn)],
        // Sourced by the begin script, after lib.sh and txn-lock.sh.
        ['plan', `# shellcheck shell=sh\n${planScript(t).text}\n`],
        ['control', controlScript(t.req, txn)],
        ['decision', decisionScript(t.id, 'disarm')],
        ['restore', restoreScript(t)],
        ['state', generationStateScript(t)],
        ['monitor', monitorScript(desired)],
        ['confirm', confirmScript(t)],
        // The plan installs the boot hook when it is missing or differs.
        ...boots.map((b, i): [string, string] => {
          const d = { ...desired, settings: { ...desired.settings, boot: b } };
          return [`plan-boot-${i}`, `# shellcheck shell=sh\n${planScript({ ...t, desired: d, ops: { ...ops, bootHook: b !== 'none' } }).text}\n`];
        }),
        ['boot', bootProgram(desired.settings.stateDir)],
        ['initd', initdProgram(desired.settings.stateDir)],
      ];
      for (const [name, script] of scripts) expect(checkScript(`${method}-${name}`, script), name).toBe('');
    });
  }

  if (part === 0) {
    it('the guard-only monitor of a play without health passes too (iptables dual stack, nft)', () => {
      for (const nft of [false, true]) {
        const cfg = hostConfig({ links: [link('dsl', 1, 1, { gateway6: 'fe80::1' }), link('cable', 2, 2)] });
        const desired = withBackend(compileHost(cfg), nft ? 'nft' : 'iptables');
        expect(desired.monitor?.guardOnly).toBe(true);
        const script = monitorScript(desired);
        expect(script).toMatch(nft ? /^ML_NFT=yes$/m : /^ML_GUARD6='-A /m);
        expect(checkScript(`guard-only-${nft ? 'nft' : 'iptables'}`, script)).toBe('');
      }
    });
  }

  if (part === 1) {
    it('the scripts of a remove (dual stack, a boot hook, a leftover of an interrupted purge) pass too', () => {
      const cfg = hostConfig({ links: [link('dsl', 1, 1, { gateway6: 'fe80::1' }), link('cable', 2, 2)] });
      const deployed = compileHost(cfg);
      const settings = { ...deployed.settings, boot: 'auto' as const };
      const req = removalRequest(settings);
      const facts = {
        ...convergedFactsFor(deployed),
        bootHook: { systemd: false, initd: true, files: { [INITD_SCRIPT]: '#!/bin/sh' }, links: {} },
        paths: { state: true, run: true, leftovers: [`${settings.stateDir}.purge-0123456789abcdef`] },
      };
      const plan = planRemove('r1', settings, facts);
      const ops = plan.ops!;
      const desired = removalDesired('r1', settings);
      const scope = scopeOf({ priorities: facts.owned!.priorities, tables: facts.owned!.tables, ipv6: true });
      const t: TransactionInput = {
        id: '0123456789abcdef',
        req,
        priorGather: '@@ML flavour\nnft\n@@ML-rc 0',
        ops,
        desired,
        ownedBefore: facts.owned,
        prior: snapshotFromFacts(facts, scope, Object.keys(facts.owned!.sysctls)),
        target: snapshotFromDesired(desired, ops.owned),
        scope,
        meta: { host: 'r1', command: 'remove' },
        confirmTimeoutS: 60,
      };
      const scripts: [string, Sh | string][] = [
        ['gather', gatherScript(req)],
        ['plan', `# shellcheck shell=sh\n${planScript(t).text}\n`],
        ['restore', restoreScript(t)],
        ['state', generationStateScript(t)],
        ['confirm', confirmScript(t)],
      ];
      expect(confirmScript(t).text).toContain('ml_purge_files');
      for (const [name, script] of scripts) expect(checkScript(`remove-${name}`, script), name).toBe('');
    });
  }
});
}
