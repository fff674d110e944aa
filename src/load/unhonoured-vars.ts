// Ansible connection variables multilink does not honour: it connects with its own SSH client
// (ssh2, ~/.ssh/config as `ssh -G` resolves it), always over SSH, always verifying host keys.
// An inventory that sets one gets one warning per variable naming the hosts, never silence
// and never a line per host.
import type { Diagnostic } from '../diagnostics.js';
import type { SourcePos } from '../model/source.js';

/** ansible_connection values that mean Ansible's ssh (or paramiko) connection: SSH all the same. */
const SSH_CONNECTIONS = ['ssh', 'smart', 'paramiko', 'paramiko_ssh', 'ansible.builtin.ssh', 'ansible.legacy.ssh', 'ansible.builtin.paramiko_ssh', 'ansible.legacy.paramiko_ssh'];

/** Why each unhonoured variable does not apply. */
const UNHONOURED: [RegExp, string][] = [
  [/^ansible_(ssh_)?(common|extra)_args$|^ansible_ssh_args$|^ansible_(scp|sftp)_extra_args$/, 'its SSH client takes no OpenSSH arguments; put options in ~/.ssh/config (read as ssh -G resolves it)'],
  [/^ansible_(ssh|scp|sftp)_executable$|^ansible_sftp_batch_mode$|^ansible_(ssh_)?transfer_method$|^ansible_scp_if_ssh$/, 'it runs no ssh, scp or sftp program'],
  [/^ansible_(ssh_)?pipelining$|^ansible_ssh_use_tty$|^ansible_(ssh_)?control_path(_dir)?$|^ansible_ssh_retries$|^ansible_sshpass_prompt$|^ansible_ssh_password_mechanism$/, 'its SSH client has no such setting'],
  [/^ansible_(ssh_)?host_key_checking$/, 'host keys are always verified (--accept-new-host-keys records unknown ones)'],
  [/^ansible_(ssh_)?timeout$/, 'the connect timeout is --connect-timeout (-T, ANSIBLE_TIMEOUT, ansible.cfg timeout)'],
  [/^ansible_(become|sudo|su|doas)_(exe|flags)$/, 'become runs sudo, su or doas found in the PATH, without extra flags'],
  [/^ansible_shell_(type|executable)$/, "commands run in the router's /bin/sh"],
  [/^ansible_(paramiko|winrm|psrp|docker|podman|kubectl|httpapi|netconf|network_cli)_/, 'multilink connects over SSH only'],
];

interface Seen {
  hosts: string[];
  pos: SourcePos;
  /** ansible_connection: hosts by value. */
  values: Map<string, string[]>;
}

/** Collects, host by host, the unhonoured connection variables set; then one warning each. */
export class UnhonouredVars {
  private readonly seen = new Map<string, Seen>();

  /**
   * `names` are the host's variables with where each is defined; `connection` its
   * ansible_connection as templated (undefined: unset).
   */
  note(host: string, names: Iterable<[string, SourcePos]>, connection: string | undefined): void {
    for (const [name, pos] of names) {
      if (name === 'ansible_connection') {
        if (connection === undefined || SSH_CONNECTIONS.includes(connection)) continue;
        const s = this.entry(name, pos);
        s.hosts.push(host);
        const list = s.values.get(connection);
        if (list) list.push(host);
        else s.values.set(connection, [host]);
      } else if (UNHONOURED.some(([re]) => re.test(name))) {
        this.entry(name, pos).hosts.push(host);
      }
    }
  }

  warnings(): Diagnostic[] {
    return [...this.seen].map(([name, s]): Diagnostic => {
      if (name === 'ansible_connection') {
        const values = [...s.values].map(([v, hosts]) => `${JSON.stringify(v)} for ${hostList(hosts)}`).join('; ');
        return { severity: 'warning', summary: `ansible_connection is ${values}: multilink connects over SSH only, and will reach ${s.hosts.length === 1 ? 'it' : 'them'} over SSH`, pos: s.pos };
      }
      const why = UNHONOURED.find(([re]) => re.test(name))?.[1] ?? '';
      return { severity: 'warning', summary: `${name} is set for ${hostList(s.hosts)} but multilink does not honour it: ${why}`, pos: s.pos };
    });
  }

  private entry(name: string, pos: SourcePos): Seen {
    let s = this.seen.get(name);
    if (!s) this.seen.set(name, (s = { hosts: [], pos, values: new Map() }));
    return s;
  }
}

/** "r1", "r1, r2 and r3", "r1, r2, r3, r4, r5 and 37 more (42 hosts)". */
function hostList(hosts: string[]): string {
  const word = hosts.length === 1 ? 'host' : 'hosts';
  if (hosts.length <= 6) return `${word} ${hosts.length === 1 ? hosts[0] : `${hosts.slice(0, -1).join(', ')} and ${hosts[hosts.length - 1]}`}`;
  return `${word} ${hosts.slice(0, 5).join(', ')} and ${hosts.length - 5} more (${hosts.length} hosts)`;
}
