// Where multilink keeps its files on a router: under the state folder what must survive a
// reboot (written on a change), under the run folder what the link monitor rewrites every few
// seconds (a RAM disk: /var/run is one on Debian and OpenWrt, so flash is not worn). The
// router-side programs (src/remote/*.sh) derive the same paths from $ML_STATE and $ML_RUN:
// change both together.
import { isRemotePath } from '../net/names.js';

/** multilink_state_dir when the inventory does not set it. */
export const DEFAULT_STATE_DIR = '/var/lib/multilink';
/** multilink_run_dir when the inventory does not set it. */
export const DEFAULT_RUN_DIR = '/var/run/multilink';
export const OWNED_FILE = 'owned.json';
/** The ownership record as lines ("table 101", "sysctl net/ipv4/ip_forward") that sh can read. */
export const OWNED_LIST = 'owned.list';
export const MONITOR_DIR = 'monitor';
export const MONITOR_SCRIPT = 'monitor.sh';
/** The iptables payloads a reset builds (src/render/reset.ts), in the state folder or a transaction's. */
export const RESET_PAYLOAD = 'reset.ipt';
export const RESET_PAYLOAD6 = 'reset6.ipt';
export const RESET_NFT_PAYLOAD = 'reset.nft';
/** How many generations a router keeps. */
export const KEEP_GENERATIONS = 10;
/**
 * Every entry multilink makes directly in a state folder (`remove` takes exactly these; a test
 * checks each StateLayout path is one). `lock` is the lock of versions before lock epochs.
 */
export const STATE_ENTRIES: readonly string[] = [
  OWNED_FILE, OWNED_LIST, 'current', 'generations', 'locks', 'lock', 'iptables.restore', 'ip6tables.restore',
  RESET_PAYLOAD, RESET_PAYLOAD6, 'multilink.nft', RESET_NFT_PAYLOAD, 'boot.sh', MONITOR_DIR, 'txn',
];

export class StateLayout {
  constructor(readonly dir: string) {
    if (!isRemotePath(dir)) throw new Error(`invalid state folder ${JSON.stringify(dir)}`);
  }
  get owned(): string {
    return `${this.dir}/${OWNED_FILE}`;
  }
  get ownedList(): string {
    return `${this.dir}/${OWNED_LIST}`;
  }
  get current(): string {
    return `${this.dir}/current`;
  }
  get generations(): string {
    return `${this.dir}/generations`;
  }
  generation(n: number): string {
    if (!Number.isInteger(n) || n < 1) throw new Error(`invalid generation ${n}`);
    return `${this.generations}/${n}`;
  }
  /** Transactions: one folder each, named by its id (src/remote/txn-*.sh). */
  get txn(): string {
    return `${this.dir}/txn`;
  }
  txnDir(id: string): string {
    if (!/^[0-9a-f]{8,64}$/.test(id)) throw new Error('invalid transaction id');
    return `${this.txn}/${id}`;
  }
  /** Lock epochs (src/remote/txn-lock.sh). */
  get locks(): string {
    return `${this.dir}/locks`;
  }
  get iptablesPayload(): string {
    return `${this.dir}/iptables.restore`;
  }
  get ip6tablesPayload(): string {
    return `${this.dir}/ip6tables.restore`;
  }
  get nftPayload(): string {
    return `${this.dir}/multilink.nft`;
  }
  get bootScript(): string {
    return `${this.dir}/boot.sh`;
  }
  get monitorDir(): string {
    return `${this.dir}/${MONITOR_DIR}`;
  }
  get monitorScript(): string {
    return `${this.monitorDir}/${MONITOR_SCRIPT}`;
  }
  /** method adaptive: the learnt weights, saved from the run folder now and then (a reboot resumes from them). */
  get monitorWeights(): string {
    return `${this.monitorDir}/weights`;
  }
  get monitorPid(): string {
    return `${this.monitorDir}/pid`;
  }
}

/** The link monitor's run folder (multilink_run_dir): what it rewrites every few seconds. */
export class RunLayout {
  constructor(readonly dir: string) {
    if (!isRemotePath(dir)) throw new Error(`invalid run folder ${JSON.stringify(dir)}`);
  }
  /** Link health, tiers, probe statistics (src/remote/monitor.sh). */
  get monitorState(): string {
    return `${this.dir}/state`;
  }
  /** The ring of each link's last state changes (src/remote/monitor-record.sh). */
  get monitorHistory(): string {
    return `${this.dir}/history`;
  }
  /** method adaptive: the last measurement and the weights learnt from it (src/remote/monitor.sh). */
  /** The guard's last restore after a foreign flush (src/remote/monitor-guard.sh). */
  get monitorRestored(): string {
    return `${this.dir}/restored`;
  }
  get monitorAdaptive(): string {
    return `${this.dir}/adaptive`;
  }
  get monitorLog(): string {
    return `${this.dir}/log`;
  }
}
