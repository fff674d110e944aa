// One authenticated connection (and the jump connections under it): exec channels with
// per-turn timeouts, a conversation on one channel, and a close that waits a little.
import { EventEmitter } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import type { Client as Ssh2Client, ClientChannel } from 'ssh2';
import { errorMessage, UnreachableError } from '../errors.js';
import { ExecTimeoutError } from './exec-timeout-error.js';
import { splitAtPrompt } from './prompt.js';
import type { ConverseOptions, ConverseResult, ExecOptions, ExecResult, Session } from './transport.js';

const CLOSE_WAIT_MS = 2_000;

/** One authenticated connection (plus the jump connections under it). */
export class Ssh2Session implements Session {
  private closed = false;
  private lostReason: string | undefined;
  private readonly pending = new Set<(err: Error) => void>();
  private readonly client: Ssh2Client;
  private readonly gone = new Set<Ssh2Client>();

  constructor(
    private readonly name: string,
    /** Jump hosts first, the target last. */
    private readonly clients: Ssh2Client[],
  ) {
    this.client = clients[clients.length - 1];
    for (const c of clients) {
      c.on('error', (err: Error) => {
        this.lostReason ??= err.message;
      });
      c.on('close', () => {
        this.gone.add(c);
        this.lost();
      });
    }
  }

  private lost(): void {
    this.lostReason ??= 'connection closed';
    const error = new UnreachableError(this.name, `connection lost: ${this.lostReason}`);
    for (const reject of [...this.pending]) reject(error);
    this.pending.clear();
  }

  exec(command: string, options: ExecOptions): Promise<ExecResult> {
    return this.run(command, options.timeoutMs, (ch) => {
      if (options.stdin !== undefined) ch.end(options.stdin);
      else ch.end();
    });
  }

  async converse(command: string, options: ConverseOptions): Promise<ConverseResult> {
    let split: { before: string; after: string } | undefined;
    let answerError: { error: unknown } | undefined;
    let answering: Promise<void> | undefined;
    const run = this.run(command, options.timeoutMs, (ch, out, turn) => {
      ch.write(options.stdin);
      let text = '';
      out.on('data', (chunk: string) => {
        if (split !== undefined) return;
        text += chunk;
        split = splitAtPrompt(text, options.prompt);
        if (split === undefined) return;
        // The second half gets its own timeout once the answer is written.
        turn.pause();
        answering = Promise.resolve()
          .then(() => options.answer(split!.before))
          .then(
            (reply) => {
              if (turn.closed) return;
              if (reply !== '') {
                options.onSent?.();
                ch.end(reply);
              } else ch.end();
              turn.resume();
            },
            (error: unknown) => {
              answerError = { error };
              if (!turn.closed) ch.end();
              turn.resume();
            },
          );
      });
    });
    // The answer is awaited even when the channel closed first, so its errors are not lost.
    const res = await run.finally(() => answering);
    if (answerError) throw answerError.error;
    const parts = split === undefined ? undefined : splitAtPrompt(res.stdout, options.prompt);
    return { ...res, before: parts?.before ?? res.stdout, after: parts?.after ?? '', prompted: parts !== undefined };
  }

  /**
   * One exec channel: `start` writes to it once it is open (and may watch stdout as text);
   * resolves when it closes, rejects when the connection is lost or a turn times out. `turn`
   * pauses the timeout while the caller thinks, and restarts it afresh on resume.
   */
  private run(
    command: string,
    timeoutMs: number,
    start: (ch: ClientChannel, stdout: NodeJS.EventEmitter, turn: { pause(): void; resume(): void; readonly closed: boolean }) => void,
  ): Promise<ExecResult> {
    if (this.closed) return Promise.reject(new Error(`${this.name}: session already closed`));
    if (this.lostReason !== undefined) {
      return Promise.reject(new UnreachableError(this.name, `connection lost: ${this.lostReason}`));
    }
    return new Promise<ExecResult>((resolve, reject) => {
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let code: number | null = null;
      let channel: ClientChannel | undefined;
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      const text = new EventEmitter();
      const decoder = new StringDecoder('utf8');

      const finish = (err: Error | undefined): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.pending.delete(fail);
        if (err) reject(err);
        else resolve({ stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), code });
      };
      const fail = (err: Error): void => finish(err);
      this.pending.add(fail);
      const arm = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          finish(new ExecTimeoutError(this.name, command, timeoutMs));
          if (channel) closeChannel(channel);
        }, timeoutMs);
      };
      const turn = {
        pause: () => clearTimeout(timer),
        resume: () => {
          if (!done) arm();
        },
        get closed() {
          return done;
        },
      };
      arm();

      try {
        this.client.exec(command, (err, ch) => {
          if (err) {
            finish(new UnreachableError(this.name, `cannot open a channel for \`${command}\`: ${err.message}`));
            return;
          }
          ch.on('error', (e: Error) => finish(new Error(`${this.name}: channel error running \`${command}\`: ${e.message}`)));
          ch.stderr.on('error', () => undefined);
          if (done) {
            closeChannel(ch); // timed out before the channel opened
            return;
          }
          channel = ch;
          ch.on('data', (chunk: Buffer) => {
            stdout.push(chunk);
            if (text.listenerCount('data') > 0) text.emit('data', decoder.write(chunk));
          });
          ch.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
          ch.on('exit', (exitCode: number | null) => {
            code = typeof exitCode === 'number' ? exitCode : null;
          });
          ch.on('close', () => finish(undefined));
          start(ch, text, turn);
        });
      } catch (err) {
        finish(new UnreachableError(this.name, `cannot run \`${command}\`: ${errorMessage(err)}`));
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      [...this.clients].reverse().filter((c) => !this.gone.has(c)).map(
        (c) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              c.destroy();
              resolve();
            }, CLOSE_WAIT_MS);
            c.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
            c.end();
          }),
      ),
    );
  }
}

function closeChannel(channel: ClientChannel): void {
  try {
    channel.signal('KILL');
  } catch {
    // the server may not support signals; closing is what matters
  }
  try {
    channel.close();
  } catch {
    // already closed
  }
}
