// The options an Ansible user types without thinking — -i, -e, -u, --private-key, -T — and
// ansible.cfg with the ANSIBLE_* variables behind them, in Ansible's precedence (flag, then
// variable, then ansible.cfg, then the default). A command's positional inventory stays; a
// playbook given on the command line gets a hint instead of "too many arguments".
import { existsSync, readFileSync, statSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { Diagnostics } from '../diagnostics.js';
import { UsageError } from '../errors.js';
import { resolveAnsibleSettings, type AnsibleFlags, type AnsibleSettings, type AnsibleWorld } from '../load/ansible-cfg.js';
import { sshUserProblem } from '../load/host-settings.js';
import type { InventoryInput } from '../load/inventory.js';
import { parseYaml } from '../load/yaml-source.js';
import type { Output } from '../report/view.js';
import { positiveInt } from './common.js';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export interface AnsibleOptionsKind {
  /** The command connects to hosts: -u, --private-key, -T, forks and timeouts apply. */
  connects: boolean;
  /** weights: after the inventory come LINK=WEIGHT words; with -i, every positional word is one. */
  assignments?: boolean;
}

/** What the hook leaves in the command's options besides the inventory argument. */
export interface AnsibleOptionValues {
  inventory?: string[];
  extraVars: string[];
  user?: string;
  privateKey?: string;
  keyFile?: string;
  timeout?: number;
}

/**
 * Adds the Ansible options to `cmd`, whose first argument is `[inventory]`. Before its action
 * runs, that argument becomes an InventoryInput (sources, -e, connection defaults), and the
 * options forks and connectTimeout take ANSIBLE_FORKS / ANSIBLE_TIMEOUT / ansible.cfg where
 * no flag set them. The parsed ansible.cfg is left in the option `ansibleCfg` (undefined
 * without one) for readers of other settings (vault_identity_list…).
 */
export function withAnsibleOptions(cmd: Command, kind: AnsibleOptionsKind, world: () => AnsibleWorld, output: Output): Command {
  cmd
    .option('-i, --inventory <source>', 'inventory file, folder or host list (r1,r2,), as ansible -i; repeatable (instead of the INVENTORY argument)', collect)
    .option('-e, --extra-vars <vars>', 'variables over every other definition, as ansible -e: KEY=VALUE words, YAML/JSON, or @FILE; repeatable', collect, [])
    .allowExcessArguments(true);
  if (kind.connects) {
    cmd
      .option('-u, --user <name>', 'connect as this user where the inventory sets no ansible_user (default: ANSIBLE_REMOTE_USER, ansible.cfg remote_user, ~/.ssh/config)')
      .option('--private-key <file>', 'SSH key where the inventory sets no ansible_ssh_private_key_file (default: ANSIBLE_PRIVATE_KEY_FILE, ansible.cfg private_key_file)')
      .addOption(new Option('--key-file <file>', 'same as --private-key (Ansible\'s other name for it)').hideHelp().conflicts('privateKey'))
      .option('-T, --timeout <s>', 'same as --connect-timeout, as ansible -T (default: ANSIBLE_TIMEOUT, ansible.cfg timeout, 15)', positiveInt('--timeout'));
  }
  return cmd.hook('preAction', (_, action) => {
    const settings = applyAnsibleOptions(action, kind, world());
    for (const w of settings.warnings) output.err(`warning: ${w}`);
  });
}

/** The hook's work, on the command about to run: rewrites its arguments and defaults. */
export function applyAnsibleOptions(action: Command, kind: AnsibleOptionsKind, world: AnsibleWorld): AnsibleSettings {
  const opts = action.opts<AnsibleOptionValues & { connectTimeout?: number; vaultPasswordFile?: string[] }>();
  const args = splitArguments(action, kind, opts.inventory !== undefined);
  const flags: AnsibleFlags = {};
  const given = opts.inventory ?? (args.inventory === undefined ? undefined : [args.inventory]);
  if (given) flags.inventory = given;
  if (kind.connects) {
    if (opts.user !== undefined) flags.remoteUser = opts.user;
    const key = opts.privateKey ?? opts.keyFile;
    if (key !== undefined) flags.privateKeyFile = key;
    if (action.getOptionValueSource('forks') === 'cli') flags.forks = action.getOptionValue('forks') as number;
    const connectTimeout = action.getOptionValueSource('connectTimeout') === 'cli' ? opts.connectTimeout : undefined;
    if (connectTimeout !== undefined && opts.timeout !== undefined && connectTimeout !== opts.timeout) {
      throw new UsageError(`-T/--timeout ${opts.timeout} and --connect-timeout ${connectTimeout} say two things: give one`);
    }
    const timeout = connectTimeout ?? opts.timeout;
    if (timeout !== undefined) flags.timeout = timeout;
  }
  const settings = resolveAnsibleSettings(flags, world);
  if (settings.remoteUser !== undefined) {
    const problem = sshUserProblem(settings.remoteUser);
    if (problem) throw new UsageError(`remote user ${JSON.stringify(settings.remoteUser)}: ${problem}`);
  }
  if (!given && !settings.inventory.some((p) => existsSync(p))) {
    throw new UsageError(
      `no inventory given: name it (multilink ${action.name()} INVENTORY, or -i INVENTORY), or set ANSIBLE_INVENTORY or inventory in ansible.cfg (${settings.cfg ? `${settings.cfg.file} sets none that exists` : 'none was found'}; looked for ${settings.inventory.join(', ')})`,
    );
  }
  const input: InventoryInput = { sources: settings.inventory, extraVars: opts.extraVars ?? [] };
  const connection = { ...(settings.remoteUser ? { user: settings.remoteUser } : {}), ...(settings.privateKeyFile ? { privateKeyFile: settings.privateKeyFile } : {}) };
  if (kind.connects && Object.keys(connection).length > 0) input.connection = connection;
  action.processedArgs[0] = input;
  if (kind.assignments) action.processedArgs[1] = args.assignments;
  if (kind.connects) {
    if (settings.forks !== undefined) action.setOptionValueWithSource('forks', settings.forks, 'config');
    if (settings.timeout !== undefined) action.setOptionValueWithSource('connectTimeout', settings.timeout, 'config');
  }
  // The cfg's vault settings (vault_password_file, vault_identity_list, …) are read by the vault
  // options' hook from this, with ANSIBLE_VAULT_* over them (commands/vault-options.ts).
  action.setOptionValue('ansibleCfg', settings.cfg);
  return settings;
}

/** The positional words: the inventory (unless -i gave it), LINK=WEIGHT words for weights, and nothing else. */
function splitArguments(action: Command, kind: AnsibleOptionsKind, inventoryFlag: boolean): { inventory?: string; assignments: string[] } {
  const words = action.args.slice();
  const isAssignment = (word: string): boolean => word.includes('=') && !existsSync(word);
  let inventory: string | undefined;
  if (!inventoryFlag && words.length > 0 && !(kind.assignments && isAssignment(words[0]))) inventory = words.shift();
  for (const w of inventory === undefined ? words : [inventory, ...words]) {
    const hint = playbookHint(w);
    if (hint) throw new UsageError(hint);
  }
  if (kind.assignments) {
    const odd = words.filter((w) => !isAssignment(w));
    if (inventoryFlag && odd.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(odd[0])}: the inventory is given by -i; weights takes LINK=WEIGHT words`);
    return { ...(inventory === undefined ? {} : { inventory }), assignments: words };
  }
  if (words.length > 0) {
    const why = inventoryFlag ? 'the inventory is given by -i' : `${action.name()} takes one inventory (more: repeat -i)`;
    throw new UsageError(`unexpected argument ${JSON.stringify(words[0])}: ${why}`);
  }
  return inventory === undefined ? { assignments: [] } : { inventory, assignments: [] };
}

/**
 * A word naming a playbook (a YAML list of plays): multilink takes its playbooks from the
 * inventory's multilink_playbooks, never from the command line.
 */
export function playbookHint(word: string): string | undefined {
  if (!/\.ya?ml$/i.test(word)) return undefined;
  let text: string;
  try {
    if (!statSync(word).isFile()) return undefined;
    text = readFileSync(word, 'utf8');
  } catch {
    return undefined;
  }
  const node = parseYaml(text, word, new Diagnostics());
  const isPlay = (item: NonNullable<typeof node>): boolean => item.kind === 'map' && item.entries.some((e) => ['hosts', 'import_playbook', 'ansible.builtin.import_playbook'].includes(e.key));
  if (node?.kind !== 'seq' || node.items.length === 0 || !node.items.every(isPlay)) return undefined;
  return `${word} is a playbook: multilink takes no playbook on the command line. It reads the playbooks the inventory names in multilink_playbooks (e.g. in group_vars/all.yml: multilink_playbooks: [${word}]); give only the inventory (INVENTORY or -i INVENTORY)`;
}
