// One authenticated connection (and the jump connections under it): exec channels with
// per-turn timeouts, a conversation on one channel, and a close that waits a little.
import { EventEmitter } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import type { Client as Ssh2Client, ClientChannel, PseudoTtyOptions } from 'ssh2';
import { errorMessage, UnreachableError } from '../errors.js';
import type { Secret } from '../model/secret.js';
import { BECOME_TIMEOUT_MS, BecomeError, becomeWay, PtyInput, PtyOutput, sudoWantsTty, type BecomeHandshake, type BecomeSpec, type BecomeWay } from './become.js';
import { ChannelFloodError, ExecTimeoutError } from './exec-timeout-error.js';
import { PromptWatch, splitAtPrompt } from './prompt.js';
import type { ConverseOptions, ConverseResult, ExecOptions, ExecResult, Session } from './transport.js';

/** Where a command's standard input goes: the channel, or (become through a terminal) its framing. */
interface Input {
  write(data: string): void;
  end(data?: string): void;
}

/** A terminal that changes nothing until the become'd shell sets it raw: no echo of the password either. */
const BECOME_PTY: PseudoTtyOptions = { rows: 24, cols: 200, term: 'dumb', modes: { ECHO: 0, ECHONL: 0 } };

const CLOSE_WAIT_MS = 2_000;

/**
 * What one command may print (stdout and stderr together). The largest real output, a
 * gather of a big router, is a few MB; a router that sends more is not read further.
 */
export const MAX_CHANNEL_BYTES = 32 * 1024 * 1024;

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
    /** --ask-become-pass: the become password of a host whose vars give none. */
    private readonly becomePassword?: Secret,
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
    return this.run(command, options.timeoutMs, options.become, (input) => {
      if (options.stdin !== undefined) input.end(options.stdin);
      else input.end();
    });
  }

  async converse(command: string, options: ConverseOptions): Promise<ConverseResult> {
    let split: { before: string; after: string } | undefined;
    let answerError: { error: unknown } | undefined;
    let answering: Promise<void> | undefined;
    const run = this.run(command, options.timeoutMs, options.become, (ch, out, turn) => {
      ch.write(options.stdin);
      const watch = new PromptWatch(options.prompt);
      out.on('data', (chunk: string) => {
        if (split !== undefined) return;
        split = watch.feed(chunk);
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
   * pauses the timeout while the caller thinks, and restarts it afresh on resume. With become,
   * the command runs as the become user and `start` is called only once it does (become.ts).
   */
  private run(
    command: string,
    timeoutMs: number,
    become: BecomeSpec | undefined,
    start: (input: Input, stdout: NodeJS.EventEmitter, turn: { pause(): void; resume(): void; readonly closed: boolean }) => void,
  ): Promise<ExecResult> {
    if (this.closed) return Promise.reject(new Error(`${this.name}: session already closed`));
    if (this.lostReason !== undefined) {
      return Promise.reject(new UnreachableError(this.name, `connection lost: ${this.lostReason}`));
    }
    const spec = become && become.password === undefined && this.becomePassword ? { ...become, password: this.becomePassword } : become;
    // sudo that wants a terminal (sudoers' requiretty) refused before it ran anything, and
    // before anything was sent to it: once more through a pseudo-terminal.
    const viaTty = spec && { ...spec, tty: true };
    return this.runAs(command, timeoutMs, spec, start).then(
      (res) => (viaTty && sudoWantsTty(spec, res.code, res.stderr) ? this.runAs(command, timeoutMs, viaTty, start) : res),
      (err: unknown) => {
        if (viaTty && err instanceof BecomeError && err.wantsTty && !spec.tty) return this.runAs(command, timeoutMs, viaTty, start);
        throw err;
      },
    );
  }

  private runAs(
    command: string,
    timeoutMs: number,
    spec: BecomeSpec | undefined,
    start: (input: Input, stdout: NodeJS.EventEmitter, turn: { pause(): void; resume(): void; readonly closed: boolean }) => void,
  ): Promise<ExecResult> {
    let way: BecomeWay;
    try {
      way = becomeWay(command, spec);
    } catch (err) {
      return Promise.reject(err);
    }
    const { line, handshake } = way;
    const pty = handshake?.pty ?? false;
    return new Promise<ExecResult>((resolve, reject) => {
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let code: number | null = null;
      let channel: ClientChannel | undefined;
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      let becomeTimer: NodeJS.Timeout | undefined;
      let received = 0;
      /** Counts a chunk; false (and the command failed, its channel closed) once the channel sent too much. */
      const within = (bytes: number): boolean => {
        received += bytes;
        if (received <= MAX_CHANNEL_BYTES) return true;
        finish(new ChannelFloodError(this.name, command, MAX_CHANNEL_BYTES));
        if (channel) closeChannel(channel);
        return false;
      };
      const text = new EventEmitter();
      const decoder = new StringDecoder('utf8');
      const errDecoder = new StringDecoder('utf8');
      /** Through a terminal: framed input, demultiplexed output. */
      const framing = pty ? { input: new PtyInput(), output: new PtyOutput() } : undefined;
      let started = handshake === undefined;

      const finish = (err: Error | undefined): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearTimeout(becomeTimer);
        this.pending.delete(fail);
        if (err) reject(err);
        else resolve({ stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), code: framing?.output.code ?? code });
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

      const emitStdout = (chunk: string): void => {
        if (chunk === '') return;
        stdout.push(Buffer.from(chunk, 'utf8'));
        if (text.listenerCount('data') > 0) text.emit('data', chunk);
      };
      /** After the handshake: what the script printed (demultiplexed through a terminal). */
      const output = (chunk: string): void => {
        if (!framing) return emitStdout(chunk);
        const parts = framing.output.feed(chunk);
        if (parts.stderr) stderr.push(Buffer.from(parts.stderr, 'utf8'));
        emitStdout(parts.stdout);
        // The script has ended: end the input too, so that the wrapper's reader ends.
        if (framing.output.code !== undefined && !framing.input.ended && channel) channel.write(framing.input.end());
      };

      try {
        this.client.exec(line, pty ? { pty: BECOME_PTY } : {}, (err, ch) => {
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
          const input: Input = framing
            ? { write: (d) => void ch.write(framing.input.encode(d)), end: (d) => void ch.write(framing.input.end(d)) }
            : { write: (d) => void ch.write(d), end: (d) => (d === undefined ? ch.end() : ch.end(d)) };
          const enter = (step: ReturnType<BecomeHandshake['feed']>): void => {
            if (!handshake || started || done) return;
            if (step.kind === 'send') ch.write(step.data);
            else if (step.kind === 'fail') {
              finish(new BecomeError(this.name, step.message));
              closeChannel(ch);
            } else if (step.kind === 'ready') {
              started = true;
              clearTimeout(becomeTimer);
              start(input, text, turn);
              output(step.rest);
            }
          };
          if (handshake) {
            const hs = handshake;
            const limit = Math.min(BECOME_TIMEOUT_MS, timeoutMs);
            becomeTimer = setTimeout(() => {
              if (started || done) return;
              finish(new BecomeError(this.name, hs.timedOut(limit)));
              closeChannel(ch);
            }, limit);
          }
          ch.on('data', (chunk: Buffer) => {
            if (done || !within(chunk.length)) return;
            const t = decoder.write(chunk);
            if (!started && handshake) enter(handshake.feed('out', t));
            else if (handshake) output(t);
            else {
              stdout.push(chunk);
              if (text.listenerCount('data') > 0) text.emit('data', t);
            }
          });
          ch.stderr.on('data', (chunk: Buffer) => {
            if (done || !within(chunk.length)) return;
            if (!started && handshake) enter(handshake.feed('err', errDecoder.write(chunk)));
            else stderr.push(chunk);
          });
          ch.on('exit', (exitCode: number | null) => {
            code = typeof exitCode === 'number' ? exitCode : null;
          });
          ch.on('close', () => {
            if (!started && handshake) finish(new BecomeError(this.name, handshake.closed(code), handshake.wantsTty));
            else finish(undefined);
          });
          if (!handshake) start(input, text, turn);
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
