// The text files of a lab (pure): each router's sshd_config, known_hosts and the inventory.
// The same renderer writes the shipped inventory/lab.yaml, so a unit test can hold the
// repository file to what the lab builds (playbooks: lab-playbooks.ts).
import { DEFAULT_RUN_DIR } from '../shell/layout.js';
import { yamlText } from './lab-yaml.js';
import type { LabRouter } from './manifest.js';
import { DEFAULT_PREFIX, DEFAULT_ROUTERS, DEFAULT_SUBNET, planTopology } from './topology.js';

/** sshd_config and YAML quoting both break on these; a lab folder must not contain them. */
export function checkLabPath(path: string): string | undefined {
  if (/["\\%\x00-\x1f]/.test(path)) return `lab folder "${path}" must not contain quotes, backslashes, % or control characters`;
  return undefined;
}

function sshdPath(path: string): string {
  return `"${path}"`;
}

export interface SshdConfigInput {
  router: string;
  namespace: string;
  address: string;
  hostKey: string;
  pidFile: string;
  authorizedKeys: string;
}

export function renderSshdConfig(c: SshdConfigInput): string {
  return [
    `# sshd of lab router ${c.router}, run in namespace ${c.namespace} by multilink lab`,
    'Port 22',
    'AddressFamily inet',
    `ListenAddress ${c.address}`,
    `HostKey ${sshdPath(c.hostKey)}`,
    `PidFile ${sshdPath(c.pidFile)}`,
    // The lab's key comes from its own folder, which labFolderProblem checked (root's, 0700, no
    // parent another user could rename): read by a command, so sshd's StrictModes, which
    // refuses any file below a world-writable parent even sticky /tmp, still guards the rest.
    'AuthorizedKeysFile none',
    `AuthorizedKeysCommand /bin/cat ${sshdPath(c.authorizedKeys)}`,
    'AuthorizedKeysCommandUser root',
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // sshd checks the lab's authorized_keys and the folders above it as it would a user's.
    'StrictModes yes',
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    'X11Forwarding no',
    // A fleet run may open many connections at once; don't drop them as a flood.
    'MaxStartups 200:30:400',
    'LogLevel INFO',
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n');
}

/** `ADDR ssh-ed25519 AAAA...` from a .pub file's text (its comment dropped). */
export function knownHostsLine(address: string, publicKey: string): string {
  const [type, key] = publicKey.trim().split(/\s+/);
  if (!type || !key) throw new Error(`not an OpenSSH public key: ${publicKey.slice(0, 40)}`);
  return `${address} ${type} ${key}`;
}

export interface InventoryInput {
  header: readonly string[];
  privateKey: string;
  knownHosts: string;
  playbook: string;
  routers: ReadonlyArray<Pick<LabRouter, 'name' | 'mgmtAddress' | 'iptables' | 'stateDir' | 'firewall'> & { openwrt?: boolean; openwrtStock?: boolean }>;
}

/**
 * Where an OpenWrt-like router keeps multilink's state, as the plan tells an operator to set
 * it (its /var is RAM; /etc is its own, persistent). A path on the router, not on this machine.
 */
export const OPENWRT_STATE_DIR = '/etc/multilink';

/**
 * A lab router's run folder (multilink_run_dir). Routers that share this machine's file system
 * get one of their own in the lab's folder; an OpenWrt-like router keeps the default,
 * /var/run/multilink, in its own RAM /var, as a real one does.
 */
export function labRunDir(r: { stateDir: string; openwrt?: boolean }): string {
  return r.openwrt ? DEFAULT_RUN_DIR : `${r.stateDir}/run`;
}

/**
 * A host's line. An OpenWrt-like router gets the boot hook the router chooses (auto: init.d
 * and /etc/rc.d there) and a state folder on persistent storage, as on a real one.
 */
function hostVars(r: InventoryInput['routers'][number]): Record<string, string> {
  // A stock OpenWrt router has no iptables: its line names no flavour, and the router decides the backend.
  const netfilter: Record<string, string> = r.openwrtStock ? { multilink_firewall: r.firewall ?? 'auto' } : { multilink_firewall: r.firewall ?? 'iptables', multilink_iptables: r.iptables };
  if (r.openwrt) return { ansible_host: r.mgmtAddress, ...netfilter, multilink_state_dir: OPENWRT_STATE_DIR, multilink_boot: 'auto' };
  return { ansible_host: r.mgmtAddress, ...netfilter, multilink_state_dir: r.stateDir, multilink_run_dir: labRunDir(r) };
}

/** The lab's inventory: group lab, the lab's key and known_hosts, one line per router. */
export function renderInventory(input: InventoryInput): string {
  const hosts = Object.fromEntries(input.routers.map((r) => [r.name, hostVars(r)]));
  const vars = {
    ansible_user: 'root',
    ansible_ssh_private_key_file: input.privateKey,
    multilink_known_hosts: input.knownHosts,
    multilink_playbooks: [input.playbook],
    multilink_boot: 'none',
  };
  return yamlText({ all: { children: { lab: { vars, hosts } } } }, { comment: input.header, flowMapsUnder: ['hosts'] });
}

/** Where inventory/lab.yaml keeps the default lab's router state (on the routers, i.e. here). */
export const SHIPPED_STATE_ROOT = '/var/lib/multilink-lab';

/**
 * inventory/lab.yaml as shipped in the repository: the default lab (`multilink lab up` in the
 * repository root), paths relative to the inventory file. The state folders are on the
 * router, which is this machine: fine for the demo, never for tests (they use their own lab).
 */
export function renderShippedInventory(): string {
  const plan = planTopology(DEFAULT_PREFIX, DEFAULT_ROUTERS, DEFAULT_SUBNET);
  return renderInventory({
    header: [
      'The default multilink lab: run `multilink lab up` in the repository root (folder .lab,',
      `prefix ${DEFAULT_PREFIX}, management ${plan.managementCidr}, ${DEFAULT_ROUTERS} routers), then`,
      '`multilink deploy inventory/lab.yaml`. Paths are relative to this file.',
      'Generated by renderShippedInventory() in src/lab/lab-files.ts; a test keeps them equal.',
    ],
    privateKey: '../.lab/id_ed25519',
    knownHosts: '../.lab/known_hosts',
    playbook: '../playbooks/lab.yaml',
    routers: plan.routers.map((r) => ({ ...r, stateDir: `${SHIPPED_STATE_ROOT}/${r.name}` })),
  });
}
