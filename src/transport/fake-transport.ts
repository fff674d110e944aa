// In-memory Transport for unit tests of the stages above it: records every connect and exec,
// answers commands through a handler, and can make hosts unreachable. A conversation is one
// exec: the handler answers its first part (its output must hold the prompt line for the
// conversation to go on), then, if the controller answers, the answer as a second call.
import { UnreachableError } from '../errors.js';
import type { ConnectOptions, ConnectTarget, ConverseOptions, ConverseResult, ExecOptions, ExecResult, Session, Transport } from './transport.js';
import { splitAtPrompt } from './prompt.js';
import type { BecomeSpec } from './become.js';

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
  /** In a conversation: what the controller answered ('' nothing; undefined: no prompt came). */
  answer?: string;
  /** The become the caller asked for (a real session runs sudo, su or doas for it). */
  become?: BecomeSpec;
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
        this.execs.push({ host, command, stdin: execOptions.stdin, timeoutMs: execOptions.timeoutMs, connection, ...(execOptions.become ? { become: execOptions.become } : {}) });
        this.execsPerHost.set(host, this.execCount(host) + 1);
        const result = await this.handler(host, command, execOptions.stdin);
        return { ...result };
      },
      converse: async (command: string, o: ConverseOptions): Promise<ConverseResult> => {
        if (closed) throw new Error(`${host}: session already closed`);
        const record: FakeExecRecord = { host, command, stdin: o.stdin, timeoutMs: o.timeoutMs, connection, ...(o.become ? { become: o.become } : {}) };
        this.execs.push(record);
        this.execsPerHost.set(host, this.execCount(host) + 1);
        const first = await this.handler(host, command, o.stdin);
        const split = splitAtPrompt(first.stdout, o.prompt);
        if (!split) return { ...first, before: first.stdout, after: '', prompted: false };
        const reply = await o.answer(split.before);
        record.answer = reply;
        if (reply === '') return { ...first, before: split.before, after: split.after, prompted: true };
        o.onSent?.();
        const second = await this.handler(host, command, reply);
        const after = split.after + second.stdout;
        return { stdout: `${split.before}${o.prompt}\n${after}`, stderr: first.stderr + second.stderr, code: second.code, before: split.before, after, prompted: true };
      },
      close: async (): Promise<void> => {
        if (closed) return;
        closed = true;
        this.openSessions--;
      },
    };
  }
}
