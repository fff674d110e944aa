// The Ansible Vault options every command that loads an inventory takes, and the reading of
// the passwords they name before the command runs (a prompt, a file, a script).
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { AnsibleCfg } from '../load/ansible-cfg.js';
import { readVaultSecrets, vaultSettingsFromConfig, VaultPasswordError, type SecretIO, type VaultSourceOptions, type VaultSettings } from '../load/vault-secrets.js';
import type { Output } from '../report/view.js';
import { promptSecret } from '../util/secret-prompt.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * Adds --vault-id, --vault-password-file and --ask-vault-pass to `cmd`; its action then finds
 * the passwords in opts.vault (a VaultKeyring, empty when none was given).
 */
export function withVaultOptions(cmd: Command, output: Output, io: Partial<SecretIO> = {}): Command {
  return cmd
    .option('--vault-id <[label@]source>', 'a vault password: SOURCE is a file, an executable printing it, or prompt (repeatable)', collect, [])
    .option('--vault-password-file <file>', 'a file holding the vault password, or an executable printing it (repeatable)', collect, [])
    .option('-J, --ask-vault-pass', 'ask for the vault password on the terminal', false)
    .hook('preAction', async (command) => {
      const secretIO: SecretIO = { env: process.env, cwd: process.cwd(), prompt: promptSecret, warn: (m) => output.err(`warning: ${m}`), ...io };
      try {
        command.setOptionValue('vault', await readVaultSecrets(command.opts<VaultSourceOptions>(), secretIO, cfgVaultSettings(command)));
      } catch (e) {
        if (e instanceof VaultPasswordError) throw new UsageError(e.message);
        throw e;
      }
    });
}

/** The vault settings of the ansible.cfg the Ansible options' hook found (it runs first), if any. */
function cfgVaultSettings(command: Command): VaultSettings {
  const cfg = command.getOptionValue('ansibleCfg') as AnsibleCfg | undefined;
  if (!cfg) return {};
  return vaultSettingsFromConfig(Object.fromEntries(cfg.sections.get('defaults') ?? []), dirname(cfg.file));
}
