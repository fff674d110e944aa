// Command line of bench/fleet.
export interface FleetArgs {
  sizes: number[];
  runs: number;
  /** Ansible runs per size (default: 3 up to 10 routers, else 1); each is a first and a no-op playbook run. */
  ansibleRuns?: number;
  /** Limit for any one timed command, seconds. */
  timeoutS: number;
  out?: string;
  probe: boolean;
  ansible: boolean;
  /** multilink_firewall of multilink's runs (the Ansible job stays iptables). */
  firewall: 'iptables' | 'nft';
}

export const USAGE = `usage: node bench/.build/bench/fleet.js [--sizes 10,50] [--runs 5] [--ansible-runs K]
       [--timeout S] [--out FILE] [--no-ansible] [--no-probe] [--firewall iptables|nft]
  --sizes         lab sizes (routers), default 10,50 (1..200)
  --runs          runs per size, default 5 (figures are the median, with min and max)
  --ansible-runs  Ansible runs per size (at most --runs), default 3 up to 10 routers, else 1
  --timeout       seconds any one timed command may take, default 300
  --out           results file, default bench/results/fleet-<date>.txt
  --no-ansible    skip the Ansible comparison
  --no-probe      skip the in-process breakdown of a no-op deploy
  --firewall      multilink's backend: iptables (default) or nft (table inet multilink)`;

function whole(name: string, v: string | undefined, min: number, max: number): number {
  if (v === undefined || !/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new Error(`${name} takes a whole number from ${min} to ${max}\n${USAGE}`);
  return Number(v);
}

export function parseArgs(argv: readonly string[]): FleetArgs {
  const a: FleetArgs = { sizes: [10, 50], runs: 5, timeoutS: 300, probe: true, ansible: true, firewall: 'iptables' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string | undefined => argv[++i];
    switch (flag) {
      case '--sizes':
        a.sizes = (value() ?? '').split(',').map((s) => whole('--sizes', s.trim(), 1, 200));
        break;
      case '--runs':
        a.runs = whole('--runs', value(), 1, 100);
        break;
      case '--ansible-runs':
        a.ansibleRuns = whole('--ansible-runs', value(), 0, 100);
        break;
      case '--timeout':
        a.timeoutS = whole('--timeout', value(), 5, 3600);
        break;
      case '--out':
        a.out = value();
        if (!a.out) throw new Error(`--out takes a file\n${USAGE}`);
        break;
      case '--no-ansible':
        a.ansible = false;
        break;
      case '--no-probe':
        a.probe = false;
        break;
      case '--firewall': {
        const v = value();
        if (v !== 'iptables' && v !== 'nft') throw new Error(`--firewall takes iptables or nft\n${USAGE}`);
        a.firewall = v;
        break;
      }
      case '-h':
      case '--help':
        throw new Error(USAGE);
      default:
        throw new Error(`unknown argument ${flag}\n${USAGE}`);
    }
  }
  return a;
}
