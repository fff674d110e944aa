// In-memory Transport for unit tests of the stages above it: records every connect and exec,
// answers commands through a handler, and can make hosts unreachable.
import { UnreachableError } from '../errors.js';
import type { ConnectOptions, ConnectTarget, ExecOptions, ExecResult, Session, Transport } from './transport.js';

/** `host` is the inventory name (ConnectTarget.name). */
export type FakeHandler = (host: string, command: string, stdin: string | undefined) => ExecResult | Promise<ExecResult>;

export interface FakeConnectRecord {
  host: string;
  target: ConnectTarget;
  options: ConnectOptions;
}

export interface FakeExecRecord {
  host: string;
  command: string;
  stdin: string | undefined;
  timeoutMs: number;
  /** Which connection of this host ran it (1 = first connect). */
  connection: number;
}

const OK: ExecResult = { stdout: '', stderr: '', code: 0 };

export class FakeTransport implements Transport {
  readonly connects: FakeConnectRecord[] = [];
  readonly execs: FakeExecRecord[] = [];
  /** Successful connects per host. */
  readonly connectionsPerHost = new Map<string, number>();
  readonly execsPerHost = new Map<string, number>();
  private readonly unreachable = new Map<string, string>();
  private openSessions = 0;

  constructor(private handler: FakeHandler = () => OK) {}

  setHandler(handler: FakeHandler): void {
    this.handler = handler;
  }

  /** Later connects to `host` fail with UnreachableError(reason); `false` makes it reachable again. */
  setUnreachable(host: string, reason: string | false = 'connection refused'): void {
    if (reason === false) this.unreachable.delete(host);
    else this.unreachable.set(host, reason);
  }

  connectionCount(host: string): number {
    return this.connectionsPerHost.get(host) ?? 0;
  }

  execCount(host: string): number {
    return this.execsPerHost.get(host) ?? 0;
  }

  /** Sessions connected and not yet closed (to catch leaks). */
  get openSessionCount(): number {
    return this.openSessions;
  }

  execsFor(host: string): FakeExecRecord[] {
    return this.execs.filter((e) => e.host === host);
  }

  async connect(target: ConnectTarget, options: ConnectOptions): Promise<Session> {
    const host = target.name;
    this.connects.push({ host, target, options });
    const reason = this.unreachable.get(host);
    if (reason !== undefined) throw new UnreachableError(host, reason);
    const connection = this.connectionCount(host) + 1;
    this.connectionsPerHost.set(host, connection);
    this.openSessions++;
    let closed = false;
    return {
      exec: async (command: string, execOptions: ExecOptions): Promise<ExecResult> => {
        if (closed) throw new Error(`${host}: session already closed`);
        this.execs.push({ host, command, stdin: execOptions.stdin, timeoutMs: execOptions.timeoutMs, connection });
        this.execsPerHost.set(host, this.execCount(host) + 1);
        const result = await this.handler(host, command, execOptions.stdin);
        return { ...result };
      },
      close: async (): Promise<void> => {
        if (closed) return;
        closed = true;
        this.openSessions--;
      },
    };
  }
}
