// Ansible is the oracle: for each inventory of the corpus (INI, YAML, static JSON, inventory
// scripts), `multilink inventory --list` must print what `ansible-inventory --list` prints —
// every host, every group's members, every variable — and for a table of host patterns,
// matching and --limit must select exactly the hosts Ansible selects, in Ansible's order.
// Needs ansible-core (Debian package, installed by .ci/run); skipped with a reason without it.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Diagnostics, formatDiagnostic } from '../src/diagnostics.js';
import { loadInventory } from '../src/load/inventory.js';
import { matchLimit, matchPattern } from '../src/load/patterns.js';
import { setWeightsInIni } from '../src/load/weights-edit-ini.js';
import { cli } from './helpers/cli.js';
import { vaultEncrypt } from './helpers/vault-encrypt.js';
import { readVaultSecrets, vaultSettingsFromConfig } from '../src/load/vault-secrets.js';
import { ansibleJson, inventoryListing } from '../src/load/inventory-export.js';

const CORPUS = fileURLToPath(new URL('./fixtures/inventories/', import.meta.url));
const HELPER = fileURLToPath(new URL('./helpers/ansible-patterns.py', import.meta.url));

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const ansibleInventory = which('ansible-inventory');
const ansible = which('ansible');
/** The interpreter Ansible runs under (its own shebang), for the pattern helper. */
const python = ansibleInventory ? /^#!\s*(\S+)/.exec(readFileSync(ansibleInventory, 'utf8').split('\n')[0])?.[1] : undefined;
if (!ansibleInventory || !ansible || !python) {
  console.warn('inventory oracle tests skipped: ansible-core is not installed (apt-get install ansible-core; .ci/run does)');
}

const supported = Boolean(ansibleInventory && ansible && python);
/** The test's own folder: Ansible's config, home and temp files, limit files. Only made when Ansible runs. */
let work = '';

/** Ansible with no configuration of this machine's, writing only into the test's folder. */
function runAnsible(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, {
    cwd: work,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ANSIBLE_CONFIG: join(work, 'ansible.cfg'), ANSIBLE_HOME: work, ANSIBLE_LOCAL_TEMP: join(work, 'tmp'), ANSIBLE_NOCOLOR: '1' },
  });
}

type Oracle = Record<string, { pattern: string[] | { error: string }; limit: string[] | { error: string } }>;

interface Case {
  file: string;
  /** Every pattern must give the same hosts in the same order (Ansible's order is stable for these). */
  patterns: string[];
}

const CASES: Case[] = [
  {
    file: 'ini-branches/hosts',
    patterns: [
      'all',
      '*',
      'edge',
      'core',
      'ungrouped',
      '*.example.net',
      'br-north-0*',
      'br-south-?',
      'hub[03]',
      '~br-(north|south)',
      '~^dc[0-9]$',
      '~.*-0[12]',
      'edge:core',
      'edge,dc',
      'edge:!edge-hubs',
      'core:&edge',
      '!edge:dc',
      '&core:edge',
      'edge:dc:!dc2:&all',
      'edge[0]',
      'edge[-1]',
      'edge[0:2]',
      'edge[1:]',
      'core[2]',
      'e*[1:3]',
      'jump.example.net,dc1',
      'br-west:dc2',
      'hub0:hub3',
    ],
  },
  {
    file: 'yaml-fleet/inventory.yml',
    patterns: [
      'all',
      'metro',
      'rural:&metro',
      'metro:!metro_west',
      'backup',
      'edge_only[-2:]',
      'edge_only[1:2]',
      'metro_east[0]',
      'me-r*',
      '~^(mw|ru)-',
      'ungrouped',
      'lab-r1,edge-r10',
      'metro*',
      'all[0:2]',
    ],
  },
  { file: 'ini-quirks/hosts', patterns: ['all', 'all[0:3]', 'c', 'a', 'ungrouped', 'x:&ungrouped', 'h-*:!c', 'all[-1]'] },
  { file: 'yaml-quirks/inventory.yaml', patterns: ['all', 'all[0:3]', 'shared', 'web:&db', 'ungrouped', 'late,u1'] },
  // Names and values YAML 1.1 resolvers disagree on: e1 is a name for Ansible, not NaN (issue 22 §1).
  { file: 'yaml-scalars/inventory.yaml', patterns: ['all', 'e5', 'edge', 'e1', 'e1*', '~^[eE]', 'e5:!edge', 'e5[1]'] },
  { file: 'json-static/inventory.json', patterns: ['all', 'pop', 'pop[0]', '2001:db8::10', 'pop-*:!pop-legacy', '~pop-[0-9]'] },
  { file: 'script-netbox/netbox.sh', patterns: ['all', 'role_edge', 'site_*', 'role_edge:!site_fra1', 'ungrouped', 'role_edge[-1]'] },
  { file: 'script-legacy/inventory.sh', patterns: ['all', 'routers:!backup', 'backup', 'old-*'] },
];

/**
 * Vaulted inventories (test/fixtures/vault/make-fixtures.sh made them with ansible-vault):
 * inline values in formats 1.1 and 1.2, !unsafe ones, JSON's __ansible_vault and
 * __ansible_unsafe objects, whole encrypted group_vars, host_vars and INI inventory files.
 * Both tools get the same vault options, relative to the inventory's folder.
 */
const VAULT_CASES: { file: string; vault: string[]; shows: string[] }[] = [
  { file: 'yaml-vault/inventory.yml', vault: ['--vault-id', 'prod@prod.pass', '--vault-password-file', 'default.pass'], shows: ['__ansible_vault', '__ansible_unsafe', 'r2-secret'] },
  { file: 'json-vault/inventory.json', vault: [], shows: ['__ansible_vault', '__ansible_unsafe'] },
  { file: 'ini-vault/hosts', vault: ['--vault-id', 'default.pass'], shows: ['ini-secret'] },
];

describe.skipIf(!supported)('multilink agrees with Ansible', () => {
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'ml-oracle-'));
    writeFileSync(join(work, 'ansible.cfg'), '');
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  for (const c of CASES) {
    const file = join(CORPUS, c.file);

    it(`${c.file}: multilink inventory --list is ansible-inventory --list`, async () => {
      const expected = JSON.parse(runAnsible(ansibleInventory as string, ['-i', file, '--list']));
      const ours = await cli('inventory', file, '--list');
      expect(ours.stderr).toBe('');
      expect(ours.code).toBe(0);
      expect(JSON.parse(ours.stdout)).toEqual(expected);
    });

    it(`${c.file}: host patterns and --limit select what Ansible selects`, () => {
      const diags = new Diagnostics();
      const { inventory } = loadInventory(file, diags);
      expect(diags.items.map(formatDiagnostic)).toEqual([]);
      const hostFile = join(work, `${c.file.replace(/\W/g, '_')}.limit`);
      const listed = [...inventory.hosts.keys()];
      writeFileSync(hostFile, `${listed[listed.length - 1]}\n\n${listed[0]}\n`);
      const patterns = [...c.patterns, `@${hostFile}`];
      const oracle = JSON.parse(runAnsible(python as string, [HELPER, file, JSON.stringify(patterns)])) as Oracle;
      for (const p of patterns) {
        const want = oracle[p];
        if (!p.startsWith('@')) {
          expect(Array.isArray(want.pattern), `${p}: ansible refused it: ${JSON.stringify(want.pattern)}`).toBe(true);
          const got = matchPattern(p, inventory);
          expect({ pattern: p, hosts: got.hosts, problems: got.problems }).toEqual({ pattern: p, hosts: want.pattern, problems: [] });
        }
        const limited = matchLimit(p, inventory);
        expect({ limit: p, hosts: limited.hosts, problems: limited.problems }).toEqual({ limit: p, hosts: want.limit, problems: [] });
      }
    });
  }

  for (const c of VAULT_CASES) {
    const file = join(CORPUS, c.file);
    const vault = c.vault.map((a) => (a.endsWith('.pass') ? a.replace(/^(\w+@)?/, (label) => `${label}${join(file, '..')}/`) : a));

    it(`${c.file}: multilink inventory --list is ansible-inventory --list, vaulted values printed as Ansible prints them`, async () => {
      const expected = JSON.parse(runAnsible(ansibleInventory as string, ['-i', file, '--list', ...vault]));
      const ours = await cli('inventory', file, '--list', ...vault);
      expect(ours.stderr).toBe('');
      expect(ours.code).toBe(0);
      expect(JSON.parse(ours.stdout)).toEqual(expected);
      for (const text of c.shows) expect(ours.stdout).toContain(text);
    });

    it(`${c.file}: --host of each host as ansible-inventory --host`, async () => {
      const listed = Object.keys(JSON.parse(runAnsible(ansibleInventory as string, ['-i', file, '--list', ...vault]))._meta.hostvars);
      for (const host of listed) {
        const expected = JSON.parse(runAnsible(ansibleInventory as string, ['-i', file, '--host', host, ...vault]));
        const ours = await cli('inventory', file, '--host', host, ...vault);
        expect(JSON.parse(ours.stdout)).toEqual(expected);
      }
    });
  }

  // JSON.parse cannot tell 6.0 from 6, nor read NaN: these compare the printed text itself.
  it.each(['py-forms/inventory.yaml', 'py-forms/hosts.ini', 'py-forms/inventory.json'])('%s: floats, inf and nan, big ints, timestamps and !unsafe printed byte for byte as ansible-inventory --list prints them', async (name) => {
    const file = join(CORPUS, name);
    const expected = runAnsible(ansibleInventory as string, ['-i', file, '--list']);
    expect(expected).toMatch(/: (?:Infinity|NaN|[0-9]+\.0|[0-9]{17,}),?\n/);
    const ours = await cli('inventory', file, '--list');
    expect(ours.stderr).toBe('');
    expect(ours.stdout).toBe(expected);
  });

  it('a YAML host name that is a number: Ansible refuses it, so does multilink, at file:line:column', async () => {
    const file = join(CORPUS, 'py-forms/numeric-host.yaml');
    const said = spawnSync(ansibleInventory as string, ['-i', file, '--list'], { cwd: work, encoding: 'utf8', env: { ...process.env, ANSIBLE_CONFIG: join(work, 'ansible.cfg'), ANSIBLE_HOME: work, ANSIBLE_NOCOLOR: '1' } });
    expect(said.stderr.replace(/\s+/g, ' ')).toContain('Host pattern 1234 must be a string. Enclose integers/floats in quotation marks.');
    const ours = await cli('inventory', file, '--list');
    expect(ours.code).toBe(1);
    expect(ours.stderr).toContain(`${file}:7:9: error: Host pattern 1234 must be a string. Enclose integers/floats in quotation marks.`);
  });

  it('ANSIBLE_VAULT_IDENTITY and ANSIBLE_VAULT_ID_MATCH (and ansible.cfg\'s vault settings) decide which password opens what, as in Ansible', async () => {
    const dir = mkdtempSync(join(work, 'vault-match-'));
    mkdirSync(join(dir, 'group_vars'));
    writeFileSync(join(dir, 'inventory.yml'), 'all:\n  hosts:\n    r1:\n');
    writeFileSync(join(dir, 'group_vars', 'all.yml'), vaultEncrypt('gw: 192.0.2.1\n', 'prod password', 'prod'));
    writeFileSync(join(dir, 'prod.pw'), 'prod password\n');
    const inv = join(dir, 'inventory.yml');
    const cases: { env: Record<string, string>; args: string[]; cfg?: Record<string, string> }[] = [
      { env: { ANSIBLE_VAULT_ID_MATCH: 'yes' }, args: ['--vault-id', `dev@${dir}/prod.pw`] },
      { env: { ANSIBLE_VAULT_ID_MATCH: 'true', ANSIBLE_VAULT_IDENTITY: 'prod' }, args: ['--vault-password-file', `${dir}/prod.pw`] },
      { env: {}, args: [], cfg: { vault_id_match: 'True', vault_identity: 'prod', vault_password_file: 'prod.pw' } },
      { env: {}, args: [], cfg: { vault_id_match: 'True', vault_identity: 'dev', vault_password_file: 'prod.pw' } },
      { env: { ANSIBLE_VAULT_IDENTITY: 'prod' }, args: [], cfg: { vault_id_match: 'True', vault_identity: 'dev', vault_password_file: 'prod.pw' } },
    ];
    const outcomes: string[] = [];
    for (const c of cases) {
      const cfgFile = join(dir, 'ansible.cfg');
      writeFileSync(cfgFile, `[defaults]\n${Object.entries(c.cfg ?? {}).map(([k, v]) => `${k} = ${v}\n`).join('')}`);
      const theirs = spawnSync(ansibleInventory as string, ['-i', inv, '--list', ...c.args], {
        cwd: work,
        encoding: 'utf8',
        env: { ...process.env, ANSIBLE_CONFIG: cfgFile, ANSIBLE_HOME: work, ANSIBLE_NOCOLOR: '1', ...c.env },
      });
      // multilink's side: the same options, environment and settings (ansible.cfg's file is read by the command line).
      const opts = { vaultId: c.args[0] === '--vault-id' ? [c.args[1]] : [], vaultPasswordFile: c.args[0] === '--vault-password-file' ? [c.args[1]] : [] };
      const io = { env: { ...process.env, ...c.env }, cwd: dir, prompt: async (): Promise<undefined> => undefined, warn: (): void => undefined };
      const diags = new Diagnostics();
      const { inventory } = loadInventory(inv, diags, { vault: await readVaultSecrets(opts, io, vaultSettingsFromConfig(c.cfg ?? {}, dir)) });
      const label = JSON.stringify(c);
      expect({ label, ok: !diags.hasErrors }).toEqual({ label, ok: theirs.status === 0 });
      if (theirs.status === 0) expect(JSON.parse(ansibleJson(inventoryListing(inventory)))).toEqual(JSON.parse(theirs.stdout));
      else expect(diags.items.map(formatDiagnostic).join('\n')).toMatch(/cannot decrypt this vault-encrypted file/);
      outcomes.push(theirs.status === 0 ? 'opened' : 'refused');
    }
    // Each case is worth having: refused and opened, by the environment, by ansible.cfg, and the environment over it.
    expect(outcomes).toEqual(['refused', 'opened', 'opened', 'refused', 'opened']);
  });

  it('an encrypted vars file without a password: Ansible stops, so does multilink, naming the file', async () => {
    const file = join(CORPUS, 'yaml-vault/inventory.yml');
    expect(() => runAnsible(ansibleInventory as string, ['-i', file, '--list'])).toThrow(/Attempting to decrypt but no vault secrets found/);
    const ours = await cli('inventory', file, '--list');
    expect(ours.code).toBe(1);
    expect(ours.stdout).toBe('');
    expect(ours.stderr).toContain(`${join(CORPUS, 'yaml-vault/group_vars/routers.yml')}:1:1: error: cannot decrypt this vault-encrypted file (vault id 'prod'): no vault password was given`);
  });

  it('the pattern helper answers what the ansible command line answers', () => {
    const file = join(CORPUS, 'ini-branches/hosts');
    const pattern = 'edge:dc:!dc2:&all';
    const printed = runAnsible(ansible as string, [pattern, '-i', file, '--list-hosts']);
    const hosts = printed.split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
    const oracle = JSON.parse(runAnsible(python as string, [HELPER, file, JSON.stringify([pattern])])) as Oracle;
    expect(hosts.length).toBeGreaterThan(3);
    expect(oracle[pattern].pattern).toEqual(hosts);
  });

  it.each(['ini-branches/hosts', 'yaml-scalars/inventory.yaml'])('multilink inventory --graph is ansible-inventory --graph: %s', async (name) => {
    const file = join(CORPUS, name);
    const expected = runAnsible(ansibleInventory as string, ['-i', file, '--graph']);
    const ours = await cli('inventory', file, '--graph');
    expect(ours.stdout.trimEnd()).toBe(expected.trimEnd());
  });

  it('Ansible reads what weights writes into an INI inventory as multilink does', async () => {
    const dir = join(work, 'ini-written');
    cpSync(join(CORPUS, 'ini-branches'), dir, { recursive: true });
    const file = join(dir, 'hosts');
    let text = readFileSync(file, 'utf8');
    text = setWeightsInIni(text, { kind: 'group', name: 'edge' }, { lte: 3, cable: 1 });
    text = setWeightsInIni(text, { kind: 'group', name: 'core' }, { dsl: 5 });
    text = setWeightsInIni(text, { kind: 'host', name: 'dc2' }, { lte: 0 });
    text = setWeightsInIni(text, { kind: 'host', name: 'jump.example.net' }, { dsl: 1 });
    writeFileSync(file, text);
    const expected = JSON.parse(runAnsible(ansibleInventory as string, ['-i', file, '--list']));
    expect(expected._meta.hostvars.dc2.multilink_weights).toEqual({ lte: 0 });
    expect(expected._meta.hostvars['br-west'].multilink_weights).toEqual({ dsl: 2, lte: 3, cable: 1 });
    const ours = await cli('inventory', file, '--list');
    expect(JSON.parse(ours.stdout)).toEqual(expected);
  });

  it('refuses, like Ansible, a subscript beyond the hosts a pattern selects', () => {
    const file = join(CORPUS, 'ini-branches/hosts');
    const oracle = JSON.parse(runAnsible(python as string, [HELPER, file, JSON.stringify(['dc[5]', 'dc[-3]'])])) as Oracle;
    const diags = new Diagnostics();
    const { inventory } = loadInventory(file, diags);
    for (const p of ['dc[5]', 'dc[-3]']) {
      expect(oracle[p].pattern).toHaveProperty('error');
      expect(matchPattern(p, inventory).problems).toEqual([`host pattern '${p}': no host at index ${p.slice(3, -1)} (it selects 2)`]);
    }
  });
});
