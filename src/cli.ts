// The command line. One top-level catch maps errors to exit codes (changesets style).
// bin.ts runs it; tests call run() with their own output and transport.
import { Command, Option } from 'commander';
import { UsageError } from './errors.js';
import { reportFailure } from './report/failure.js';
import { processOutput, type Output } from './report/view.js';
import type { Transport } from './transport/transport.js';
import { deployCommand } from './commands/deploy.js';
import { renderCommand } from './commands/render.js';
import { driftCommand } from './commands/drift.js';
import { parseFormat, parseInterval, statusCommand, STATUS_FORMATS } from './commands/status.js';
import { rollbackCommand } from './commands/rollback.js';
import { removeCommand } from './commands/remove.js';
import { weightsCommand } from './commands/weights.js';
import { labCommand, type LabCommandOptions } from './commands/lab.js';
import { reportMergeCommand } from './commands/report-merge.js';
import { inventoryCommand } from './commands/inventory.js';
import { withVaultOptions } from './commands/vault-options.js';
import { withAnsibleOptions } from './commands/ansible-options.js';
import { systemWorld, type AnsibleWorld } from './load/ansible-cfg.js';
import type { InventoryInput } from './load/inventory.js';
import { readFileSync } from 'node:fs';
import type { VaultKeyring } from './load/vault.js';
import { positiveInt } from './commands/common.js';
import { parseShard } from './util/shard.js';
import { Ssh2Transport } from './transport/ssh2-transport.js';
import { askLine, askSecrets, type AskedSecrets, type AskLine } from './commands/ask-secret.js';

/** Every command's inventory argument: the formats it reads, said the same way everywhere. */
const INVENTORY_ARGUMENT = 'inventory (YAML, INI, JSON or script): a file, a folder, an executable inventory script or a host list (r1,r2,); or -i, repeatable';

/** -v, -vv, -vvv: how many times given. */
function increase(_: string, previous: number): number {
  return previous + 1;
}

/**
 * The version in multilink's package.json: beside src/ and dist/, or further up when the
 * code is built elsewhere (bench/.build/src). Never fails a command: "unknown" if not found.
 */
function version(): string {
  for (const up of ['../', '../../', '../../../']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(`${up}package.json`, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'multilink' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not there: look further up
    }
  }
  return 'unknown';
}

function percentage(value: string): number {
  if (!/^(100|[1-9]?[0-9])$/.test(value)) throw new UsageError(`--max-fail-percentage takes a whole number from 0 to 100, not ${JSON.stringify(value)}`);
  return Number(value);
}

/** Options of every command that contacts hosts. */
function hostOptions(cmd: Command, transactional: boolean): Command {
  cmd
    .addOption(new Option('-f, --forks <n>', 'hosts worked on at once').argParser(positiveInt('--forks')).default(50, 'ANSIBLE_FORKS, ansible.cfg forks, else 50'))
    .option('--json', 'print one JSON document on stdout and nothing else', false)
    .option('-v, --verbose', 'print every phase of every host (plain output); -vv, -vvv as in Ansible', increase, 0)
    .option('--accept-new-host-keys', 'record unknown host keys (never changed ones)', false)
    .option('-k, --ask-pass', 'ask for the SSH password (also opens passphrase-protected keys), for hosts without ansible_password', false)
    .option('-K, --ask-become-pass', 'ask for the become password, for hosts without ansible_become_password', false)
    .addOption(new Option('--connect-timeout <s>', 'seconds to connect and authenticate').argParser(positiveInt('--connect-timeout')).default(15, 'ANSIBLE_TIMEOUT, ansible.cfg timeout, else 15'))
    .addOption(
      new Option('--command-timeout <s>', "seconds any one remote command may take; for a change also the router's plan deadline (at least 10 s): how long its lock waits for the plan")
        .argParser(positiveInt('--command-timeout'))
        .default(120),
    )
    .option('--shard <k/n>', 'only the K-th of N stable shares of the targeted hosts (by a hash of their names), e.g. for CI matrix jobs', parseShard);
  if (transactional) {
    cmd.addOption(
      new Option('--confirm-timeout <s>', 'seconds a router waits for the confirmation before it restores its prior state by itself')
        .argParser(positiveInt('--confirm-timeout'))
        .default(60),
    );
  }
  return cmd;
}

function program(output: Output, transportOf: (asked: AskedSecrets) => Transport, exit: (code: number) => void, ask: AskLine, world: AnsibleWorld): Command {
  let asked: AskedSecrets = {};
  const transport = (): Transport => transportOf(asked);
  const cli = new Command('multilink')
    .description('Balance outgoing connections of Linux routers over several uplinks; keep a fleet in the declared state.')
    .version(`multilink ${version()}`, '--version', 'print the version and exit')
    .exitOverride()
    .configureOutput({ writeOut: (t) => output.out(t), writeErr: (t) => output.err(t) })
    .showHelpAfterError()
    .hook('preAction', async (_, action) => {
      asked = await askSecrets(action.opts<{ askPass?: boolean; askBecomePass?: boolean }>(), ask);
    });

  hostOptions(cli.command('deploy'), true)
    .description('converge every targeted host to its compiled state')
    .argument('[inventory]', INVENTORY_ARGUMENT)
    .option('-l, --limit <pattern>', 'only hosts matching this Ansible host pattern')
    .option('-C, --check', 'change nothing; exit 0 in sync, 2 changes needed, 1 error', false)
    .option('-D, --diff', 'show each change as a unified diff', false)
    .option('--serial <n>', 'work in batches of N hosts, or N% of them')
    .addOption(new Option('--max-fail-percentage <p>', 'stop starting batches once a batch has more than P% failed hosts').argParser(percentage))
    .action(async (inventory: InventoryInput, opts) => {
      exit(await deployCommand(inventory, opts, transport(), output));
    });

  hostOptions(cli.command('weights'), true)
    .description('fleet-wide weight change: write multilink_weights at the --limit level, then replace only the balancing chain')
    .argument('[inventory]', INVENTORY_ARGUMENT)
    .argument('[link=weight...]', 'new weights, e.g. lte=0 dsl=2')
    .option('-l, --limit <name>', 'the group or host to write the weights at (default: all)')
    .option('--no-write', 'apply without editing the inventory (drift will show it)')
    .option('-D, --diff', 'show each change as a unified diff', false)
    .action(async (inventory: InventoryInput, assignments: string[], opts) => {
      exit(await weightsCommand(inventory, assignments, opts, transport(), output));
    });

  hostOptions(cli.command('rollback'), true)
    .description('restore the previous (or a given) confirmed generation, through the same transaction as deploy')
    .argument('[inventory]', INVENTORY_ARGUMENT)
    .requiredOption('-l, --limit <pattern>', 'the hosts to roll back (required)')
    .option('--generation <n>', 'the confirmed generation to restore (default: the one before the current)', positiveInt('--generation'))
    .option('-D, --diff', 'show each change as a unified diff', false)
    .action(async (inventory: InventoryInput, opts) => {
      exit(await rollbackCommand(inventory, opts, transport(), output));
    });

  hostOptions(cli.command('remove'), true)
    .summary('take multilink off the hosts, through the same transaction as deploy')
    .description(
      "take multilink off the hosts, through the same transaction as deploy: its ML_ chains and jumps, ip rules and routes (IPv4 and IPv6), link monitor, boot hook, state and run folders go, and every sysctl gets back its value from before multilink; hosts no play targets any more too (the router's ownership record says what is multilink's)",
    )
    .argument('[inventory]', INVENTORY_ARGUMENT)
    .requiredOption('-l, --limit <pattern>', 'the hosts to remove multilink from (required; all: --limit all)')
    .option('-C, --check', 'change nothing; exit 0 nothing to remove, 2 something would be removed, 1 error', false)
    .option('-D, --diff', 'show each change as a unified diff', false)
    .action(async (inventory: InventoryInput, opts) => {
      exit(await removeCommand(inventory, opts, transport(), output));
    });

  cli
    .command('render')
    .description('print what would be applied to one host, connecting nowhere')
    .argument('[inventory]', INVENTORY_ARGUMENT)
    .requiredOption('--host <name>', 'the host to render')
    .action((inventory: InventoryInput, opts: { host: string; vault?: VaultKeyring }) => {
      exit(renderCommand(inventory, opts.host, output, opts.vault));
    });

  cli
    .command('inventory')
    .description('the inventory as understood, in ansible-inventory\'s shapes, connecting nowhere')
    .argument('[inventory]', INVENTORY_ARGUMENT)
    .option('--list', 'groups, members and every host\'s merged vars, as ansible-inventory --list (the default)')
    .option('--host <name>', 'one host\'s merged vars')
    .option('--graph [group]', 'the tree of groups and hosts, from all or the given group')
    .option('-l, --limit <pattern>', 'with --list: only hosts matching this Ansible host pattern')
    .action((inventory: InventoryInput, opts: { list?: boolean; host?: string; graph?: boolean | string; limit?: string; vault?: VaultKeyring }) => {
      exit(inventoryCommand(inventory, opts, output));
    });

  hostOptions(cli.command('drift'), false)
    .description('compare every host with its compiled state, changing nothing; exit 0 in sync, 2 drift, 1 a host could not be checked')
    .argument('[inventory]', INVENTORY_ARGUMENT)
    .option('-l, --limit <pattern>', 'only hosts matching this Ansible host pattern')
    .action(async (inventory: InventoryInput, opts) => {
      exit(await driftCommand(inventory, opts, transport(), output));
    });

  hostOptions(cli.command('status'), false)
    .description('per host and link: health, share of new connections in force, connections, traffic; --watch for a live view')
    .argument('[inventory]', INVENTORY_ARGUMENT)
    .option('-l, --limit <pattern>', 'only hosts matching this Ansible host pattern')
    .addOption(new Option('--format <format>', `${STATUS_FORMATS.join(' | ')} (openmetrics and prometheus: metrics for a scrape or node_exporter's textfile collector)`).argParser(parseFormat))
    .option('--history', 'with the table: the link monitor\'s last state changes of each link', false)
    .option('-w, --watch', 'a live view refreshed in place (needs a terminal): throughput, new connections, health', false)
    .addOption(new Option('--interval <s>', 'with --watch: seconds between refreshes (default 2)').argParser(parseInterval))
    .addOption(new Option('--frames <n>', 'with --watch: stop after N refreshes; without a terminal, print each frame').argParser(positiveInt('--frames')))
    .action(async (inventory: InventoryInput, opts) => {
      exit(await statusCommand(inventory, opts, transport(), output));
    });

  cli
    .command('report')
    .description('work with the --json documents of fleet commands')
    .command('merge')
    .description('merge the --json documents of the N shards of one fleet command (run with --shard K/N) into one of the same shape; exit as that command would have for the whole fleet')
    .argument('<file...>', 'the --json documents, one per shard')
    .action((files: string[]) => {
      exit(reportMergeCommand(files, output));
    });

  cli
    .command('lab')
    .description('simulated routers on this machine (network namespaces with real sshd); needs root')
    .argument('<action>', 'up | down')
    .option('--routers <n>', 'number of routers (default 3; 1 with --dataplane)', positiveInt('--routers'))
    .option('--dir <path>', 'lab folder (keys, known_hosts, inventory)', '.lab')
    .option('--dataplane', 'add a client, rate-limited ISPs and a server (iperf3, FTP) behind router r1', false)
    .option('--rates <a,b,c>', 'the three ISPs\' rates in Mbit/s, with --dataplane (default 20,40,60)')
    .option('--no-bcp38', 'ISPs accept any source address (default: they drop spoofed sources, rp_filter=1 their side)')
    .option('--openwrt <routers>', 'routers built like OpenWrt (BusyBox userland, /var in RAM): r1,r2… or all')
    .option('--openwrt-stock [routers]', 'routers built like a stock OpenWrt image (BusyBox for every command, ip included; only nft and sshd in /usr/sbin: no iptables, no conntrack tool): r1,r2… or all (the default)')
    .option('--firewall <backend>', 'multilink_firewall of the routers in the lab\'s inventory: iptables (default; auto on a stock OpenWrt router), nft or auto')
    .option('--dhcp-uplink', 'with --dataplane: r1 gets wan4 (link wifi) by DHCP from ISP 4', false)
    .option('--ptp-uplink', 'with --dataplane: r1 gets wan5 (link ptp), a point-to-point link without gateway', false)
    .option('--ipv6', 'with --dataplane: dual stack; each ISP advertises its /64 by RA (radvd) and drops other IPv6 sources, r1 takes its WAN addresses by SLAAC, the LAN has a ULA /64', false)
    .action(async (action: string, opts: LabCommandOptions) => {
      exit(await labCommand(action, opts, output));
    });

  // Every command that loads an inventory takes Ansible's inventory options and ansible.cfg
  // (the inventory argument becomes an InventoryInput), then the Vault options (opts.vault).
  for (const cmd of cli.commands) {
    const connects = ['deploy', 'weights', 'rollback', 'remove', 'drift', 'status'].includes(cmd.name());
    if (!connects && !['render', 'inventory'].includes(cmd.name())) continue;
    withAnsibleOptions(cmd, { connects, assignments: cmd.name() === 'weights' }, () => world, output);
    withVaultOptions(cmd, output);
  }
  return cli;
}

/** Runs one command line; returns the exit code. */
export async function run(
  argv: string[],
  output: Output = processOutput,
  transport: (asked: AskedSecrets) => Transport = (asked) => new Ssh2Transport(asked),
  ask: AskLine = askLine,
  world: AnsibleWorld = systemWorld(),
): Promise<number> {
  let code = 0;
  try {
    await program(output, transport, (c) => (code = c), ask, world).parseAsync(argv);
    return code;
  } catch (e) {
    return reportFailure(e, argv, output);
  }
}
