// The small interface the rest of multilink talks to. Only ssh2-transport.ts imports ssh2,
// so planning and apply logic are tested against a fake transport.
import type { ConnectionVars } from '../model/config.js';
import type { BecomeSpec } from './become.js';

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
  /** Run the command as another user (become.ts); the script reaches it only once it runs so. */
  become?: BecomeSpec;
}

/**
 * A conversation on one exec channel: the first part goes out on stdin (which stays open), the
 * remote prints its findings and then the prompt line; `answer` reads them and says what to
 * send next; that is written and stdin closed. So a gather and the change planned from it, or
 * a check and the decision taken on it, cost one remote execution.
 */
export interface ConverseOptions {
  /** The first part, sent at once; stdin stays open for the answer. */
  stdin: string;
  /** The line the remote prints when it waits for the answer. */
  prompt: string;
  /**
   * Called once, with the standard output before the prompt line. What it returns is written
   * and stdin closed; '' closes stdin at once (the remote reads nothing). If it throws, stdin
   * is closed with nothing sent and the conversation rejects with that error once the channel
   * has closed.
   */
  answer(before: string): string | Promise<string>;
  /** Called just before a non-empty answer is written: from then on the remote may have it. */
  onSent?(): void;
  /** Bounds each half: from the start to the prompt, and from the answer to the end. */
  timeoutMs: number;
  /** As ExecOptions.become. */
  become?: BecomeSpec;
}

export interface ConverseResult extends ExecResult {
  /** Standard output before the prompt line (all of it when no prompt came). */
  before: string;
  /** Standard output after the prompt line. */
  after: string;
  /** The prompt came (and answer was called). */
  prompted: boolean;
}

export interface Session {
  /** Runs one command line on the remote host (one SSH exec channel = one round trip). */
  exec(command: string, options: ExecOptions): Promise<ExecResult>;
  /** One exec channel, two turns (see ConverseOptions). */
  converse(command: string, options: ConverseOptions): Promise<ConverseResult>;
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
  /** A confirmation of an armed router: its handshake goes before others waiting for the same endpoint. */
  urgent?: boolean;
}

export interface Transport {
  /** Throws UnreachableError when the host cannot be reached, authenticated or verified. */
  connect(target: ConnectTarget, options: ConnectOptions): Promise<Session>;
}
