// The small interface the rest of multilink talks to. Only ssh2-transport.ts imports ssh2,
// so planning and apply logic are tested against a fake transport.
import type { ConnectionVars } from '../model/config.js';

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** null when the remote process died by a signal or the channel closed without status. */
  code: number | null;
}

export interface ExecOptions {
  /** Sent on the command's standard input, then EOF. */
  stdin?: string;
  timeoutMs: number;
}

export interface Session {
  /** Runs one command line on the remote host (one SSH exec channel = one round trip). */
  exec(command: string, options: ExecOptions): Promise<ExecResult>;
  close(): Promise<void>;
}

export interface ConnectTarget {
  /** Inventory name, for messages. */
  name: string;
  connection: ConnectionVars;
  /** known_hosts file to verify against; undefined means ~/.ssh/known_hosts. */
  knownHosts?: string;
}

export interface ConnectOptions {
  /** Record unknown host keys (never changed ones). */
  acceptNewHostKeys: boolean;
  timeoutMs: number;
}

export interface Transport {
  /** Throws UnreachableError when the host cannot be reached, authenticated or verified. */
  connect(target: ConnectTarget, options: ConnectOptions): Promise<Session>;
}
