// The text files of a lab (pure): each router's sshd_config, known_hosts, the playbook and
// the inventory. The same renderers write the shipped inventory/lab.yaml and
// playbooks/lab.yaml, so a unit test can hold the repository files to what the lab builds.
import { DEFAULT_PREFIX, DEFAULT_ROUTERS, DEFAULT_SUBNET, LAB_UPLINKS, MANAGEMENT_RANGE, planTopology, type LabIptables } from './topology.js';

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
    `AuthorizedKeysFile ${sshdPath(c.authorizedKeys)}`,
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
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

export function renderPlaybook(): string {
  const links = LAB_UPLINKS.map((u) => {
    const tier = u.tier !== 1 ? `, tier: ${u.tier}` : '';
    return `    - { name: ${u.name}, interface: ${u.interface}, gateway: ${u.gateway}, weight: ${u.weight}${tier} }`;
  });
  const dsl = LAB_UPLINKS[0].name;
  return [
    '# The lab playbook: three uplinks of every simulated router (`multilink lab up`).',
    '- name: lab routers over three uplinks',
    '  hosts: lab',
    '  balance:',
    '    method: random',
    '    traffic: [forwarded, local]',
    '    lan: [lan0]',
    '  links:',
    ...links,
    '  exceptions:',
    '    # management must never be balanced: the SSH path to the routers stays on normal routing',
    `    - { destination: ${MANAGEMENT_RANGE}, via: main }`,
    `    - { protocol: tcp, ports: [22], via: ${dsl} }`,
    `    - { protocol: udp, ports: [53], via: ${dsl} }`,
    '  helpers: [ftp]',
    '  rp_filter: loose',
    '',
  ].join('\n');
}

export interface InventoryRouter {
  name: string;
  address: string;
  iptables: LabIptables;
  stateDir: string;
}

export interface InventoryInput {
  header: string[];
  privateKey: string;
  knownHosts: string;
  playbook: string;
  routers: InventoryRouter[];
}

/** A YAML scalar: plain when it cannot be misread, else JSON's double quotes (valid YAML). */
export function yamlScalar(value: string): string {
  const plain = /^[A-Za-z_./][A-Za-z0-9_./-]*$/.test(value) && !/^(true|false|null|yes|no|on|off|y|n)$/i.test(value);
  return plain ? value : JSON.stringify(value);
}

export function renderInventory(input: InventoryInput): string {
  const lines = [
    ...input.header.map((h) => `# ${h}`.trimEnd()),
    'all:',
    '  children:',
    '    lab:',
    '      vars:',
    '        ansible_user: root',
    `        ansible_ssh_private_key_file: ${yamlScalar(input.privateKey)}`,
    `        multilink_known_hosts: ${yamlScalar(input.knownHosts)}`,
    `        multilink_playbooks: [${yamlScalar(input.playbook)}]`,
    '        multilink_boot: none',
    '      hosts:',
  ];
  for (const r of input.routers) {
    lines.push(
      `        ${r.name}: { ansible_host: ${r.address}, multilink_iptables: ${r.iptables}, multilink_state_dir: ${yamlScalar(r.stateDir)} }`,
    );
  }
  lines.push('');
  return lines.join('\n');
}

/**
 * inventory/lab.yaml as shipped in the repository: the default lab (`multilink lab up` in the
 * repository root), paths relative to the inventory file. The state folders are on the
 * router, which is this machine: fine for the demo, never for tests (they use their own lab).
 */
/** Where inventory/lab.yaml keeps the default lab's router state (on the routers, i.e. here). */
export const SHIPPED_STATE_ROOT = '/var/lib/multilink-lab';

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
    routers: plan.routers.map((r) => ({
      name: r.name,
      address: r.mgmtAddress,
      iptables: r.iptables,
      stateDir: `${SHIPPED_STATE_ROOT}/${r.name}`,
    })),
  });
}
