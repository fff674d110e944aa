// The one module that speaks SSH (through ssh2): resolves a target through ~/.ssh/config,
// verifies host keys against known_hosts as OpenSSH does, authenticates with key files and
// ssh-agent, hops through ProxyJump hosts, and runs one exec channel per command. A hop
// reset or closed before authentication (sshd past MaxStartups) is tried again after a
// jittered backoff, a bounded number of times (connect-retry.ts).
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import ssh2 from 'ssh2';
import type {
  AnyAuthMethod,
  Client as Ssh2Client,
  ClientChannel,
  ClientErrorExtensions,
  ConnectConfig,
  HostVerifier,
  ServerHostKeyAlgorithm,
} from 'ssh2';
import { UnreachableError } from '../errors.js';
import type { ConnectOptions, ConnectTarget, ConverseOptions, ConverseResult, ExecOptions, ExecResult, Session, Transport } from './transport.js';
import { splitAtPrompt } from './prompt.js';
import { HandshakeGate } from './handshake-gate.js';
import { backoffDelay, checkRetryPolicy, DEFAULT_RETRY_POLICY, isRetryable, retriedMessage, type RetryPolicy } from './connect-retry.js';
import { ExecTimeoutError } from './exec-timeout-error.js';
import {
  appendKnownHost,
  checkHostKey,
  fingerprint,
  keyTypeOfBlob,
  knownHostName,
  knownKeyTypes,
  orderHostKeyAlgorithms,
  readKnownHosts,
  type HostKeyVerdict,
} from './known-hosts.js';
import { expandTilde } from './ssh-config.js';
import { SshConfigSource } from './openssh-config.js';

const { Client, utils } = ssh2;

/** ssh2's own default list (ssh-dss left out, as OpenSSH does). */
const HOST_KEY_ALGORITHMS: readonly ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];
const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];
const CLOSE_WAIT_MS = 2_000;

type Ssh2Error = Error & ClientErrorExtensions & { code?: string };

export interface Ssh2TransportOptions {
  /** Where ~ points (~/.ssh/config, ~/.ssh/known_hosts, default keys). Default: os.homedir(). */
  homeDir?: string;
  /** Default: HOME/.ssh/config (and, through OpenSSH, the system-wide file). */
  sshConfigFile?: string;
  /** How ssh config is read: OpenSSH's `ssh -G`, the built-in parser, or auto (see openssh-config.ts). */
  sshConfig?: 'auto' | 'openssh' | 'builtin';
  /** Where ssh config warnings go (a skipped Match, a ProxyCommand). Default: stderr. */
  warn?: (message: string) => void;
  /** Environment for SSH_AUTH_SOCK. Default: process.env. */
  env?: Record<string, string | undefined>;
  /** Remote user when neither inventory nor ssh config names one. Default: os.userInfo().username. */
  localUser?: string;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** ssh2 protocol debug lines. */
  debug?: (line: string) => void;
  /** SSH handshakes in flight to one host:port at most (below sshd's MaxStartups 10). Default 8. */
  maxStartupsPerEndpoint?: number;
  /** Attempts and backoff for a hop reset or closed before authentication. Default DEFAULT_RETRY_POLICY. */
  retry?: Partial<RetryPolicy>;
  /** Source of the backoff's jitter, 0 ≤ x < 1. Default Math.random. */
  random?: () => number;
}

/** One SSH connection on the way to a target: the jump hosts first, the target last. */
export interface Hop {
  /** Address to connect to (HostName after ssh config). */
  host: string;
  port: number;
  user: string;
  /** Key files to try before ssh-agent, in order. */
  identityFiles: string[];
  /** OpenSSH tries ~/.ssh/id_* only when no IdentityFile was given. */
  useDefaultKeys: boolean;
  /** IdentitiesOnly yes: no ssh-agent. */
  identitiesOnly: boolean;
}

interface AuthCandidate {
  label: string;
  method: AnyAuthMethod;
}

/** One attempt at one hop failed; `retryable`: reset or closed before authentication. */
class HopFailure extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** Where a connect stands, for the message when its timeout fires. */
interface ConnectProgress {
  hop: Hop;
  attempts: number;
  lastCause?: string;
}

export function hopLabel(hop: Hop): string {
  return `${hop.user}@${hop.host}:${hop.port}`;
}

export class Ssh2Transport implements Transport {
  private readonly homeDir: string;
  private readonly sshConfig: SshConfigSource;
  private readonly env: Record<string, string | undefined>;
  private readonly localUser: string;
  private readonly keepaliveIntervalMs: number;
  private readonly keepaliveCountMax: number;
  private readonly debug: ((line: string) => void) | undefined;
  private readonly gate: HandshakeGate;
  private readonly retry: RetryPolicy;
  private readonly random: () => number;

  constructor(options: Ssh2TransportOptions = {}) {
    this.homeDir = options.homeDir ?? homedir();
    this.env = options.env ?? process.env;
    this.localUser = options.localUser ?? userInfo().username;
    this.sshConfig = new SshConfigSource({
      homeDir: this.homeDir,
      localUser: this.localUser,
      configFile: options.sshConfigFile ?? join(this.homeDir, '.ssh', 'config'),
      configFileGiven: options.sshConfigFile !== undefined,
      ...(options.sshConfig ? { mode: options.sshConfig } : {}),
      ...(options.warn ? { warn: options.warn } : {}),
    });
    this.keepaliveIntervalMs = options.keepaliveIntervalMs ?? 5_000;
    this.keepaliveCountMax = options.keepaliveCountMax ?? 3;
    this.debug = options.debug;
    this.gate = new HandshakeGate(options.maxStartupsPerEndpoint ?? 8);
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    checkRetryPolicy(this.retry);
    this.random = options.random ?? Math.random;
  }

  /**
   * The hops a connect would take. Inventory values (ansible_port, ansible_user,
   * ansible_ssh_private_key_file) win over ssh config, as in Ansible.
   */
  async resolveRoute(target: ConnectTarget): Promise<Hop[]> {
    const conn = target.connection;
    const cfg = await this.sshConfig.resolve(conn.host, { user: conn.user, port: conn.port });
    const explicitKey = conn.privateKeyFile === undefined ? [] : [expandTilde(conn.privateKeyFile, this.homeDir)];
    const targetFiles = unique([...explicitKey, ...cfg.identityFiles]);
    const targetHop: Hop = {
      host: cfg.hostName ?? conn.host,
      port: conn.port ?? cfg.port ?? 22,
      user: conn.user ?? cfg.user ?? this.localUser,
      identityFiles: targetFiles,
      useDefaultKeys: targetFiles.length === 0,
      identitiesOnly: cfg.identitiesOnly ?? false,
    };
    const jumps = (cfg.proxyJump ?? []).map(async (jump): Promise<Hop> => {
      // A jump host is resolved through ssh config too (its own ProxyJump is not followed).
      const jcfg = await this.sshConfig.resolve(jump.host, { user: jump.user, port: jump.port });
      const files = unique([...jcfg.identityFiles, ...explicitKey]);
      return {
        host: jcfg.hostName ?? jump.host,
        port: jump.port ?? jcfg.port ?? 22,
        user: jump.user ?? jcfg.user ?? this.localUser,
        identityFiles: files,
        useDefaultKeys: jcfg.identityFiles.length === 0,
        identitiesOnly: jcfg.identitiesOnly ?? false,
      };
    });
    return [...(await Promise.all(jumps)), targetHop];
  }

  async connect(target: ConnectTarget, options: ConnectOptions): Promise<Session> {
    let hops: Hop[];
    try {
      hops = await this.resolveRoute(target);
    } catch (err) {
      throw new UnreachableError(target.name, `ssh config: ${errorMessage(err)}`);
    }
    const knownHostsFile = target.knownHosts ?? join(this.homeDir, '.ssh', 'known_hosts');
    const clients: Ssh2Client[] = [];
    const progress: ConnectProgress = { hop: hops[0], attempts: 0 };
    const deadline = Date.now() + options.timeoutMs;
    const abandon = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new UnreachableError(target.name, timeoutMessage(options.timeoutMs, progress, hops))), options.timeoutMs);
    });
    const work = (async (): Promise<Session> => {
      let previous: Ssh2Client | undefined;
      for (let i = 0; i < hops.length; i++) {
        previous = await this.openHopWithRetries(target.name, hops, i, previous, knownHostsFile, options, deadline, clients, progress, abandon.signal);
        if (abandon.signal.aborted) throw new Error('connect abandoned after its timeout');
      }
      return new Ssh2Session(target.name, clients);
    })();
    try {
      return await Promise.race([work, timedOut]);
    } catch (err) {
      abandon.abort();
      // A hop still opening when the timeout fired ends by its readyTimeout; destroy it then too.
      work.then(
        (late) => void late.close(),
        () => undefined,
      );
      for (const c of [...clients].reverse()) c.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Opens hop `index` (through the previous hop's client), again after a jittered backoff
   * while it is reset or closed before authentication, up to the policy's attempts and the
   * connect's deadline.
   */
  private async openHopWithRetries(
    name: string,
    hops: Hop[],
    index: number,
    previous: Ssh2Client | undefined,
    knownHostsFile: string,
    options: ConnectOptions,
    deadline: number,
    clients: Ssh2Client[],
    progress: ConnectProgress,
    abandoned: AbortSignal,
  ): Promise<Ssh2Client> {
    const hop = hops[index];
    Object.assign(progress, { hop, attempts: 0, lastCause: undefined });
    for (;;) {
      progress.attempts++;
      try {
        const sock = previous === undefined ? undefined : await forwardOut(previous, hops[index - 1], hop);
        return await this.openHop(hop, viaText(hops, hop), sock, knownHostsFile, options, deadline, clients, abandoned);
      } catch (err) {
        if (!(err instanceof HopFailure)) throw err;
        const n = progress.attempts;
        if (!err.retryable) throw new UnreachableError(name, retriedMessage(err.message, n, 'final'));
        progress.lastCause = err.message;
        if (n >= this.retry.attempts) throw new UnreachableError(name, retriedMessage(err.message, n, 'attempts'));
        const delay = backoffDelay(n, this.retry, this.random);
        if (Date.now() + delay >= deadline) throw new UnreachableError(name, retriedMessage(err.message, n, 'time'));
        this.debug?.(`${name}: ${err.message}; attempt ${n + 1} in ${delay} ms`);
        await sleep(delay, undefined, { signal: abandoned });
      }
    }
  }

  private authCandidates(hop: Hop, notes: string[]): AuthCandidate[] {
    const candidates: AuthCandidate[] = [];
    const seen = new Set<string>();
    const addKey = (file: string, explicit: boolean): void => {
      if (seen.has(file)) return;
      seen.add(file);
      let data: Buffer;
      try {
        data = readFileSync(file);
      } catch (err) {
        if (explicit) notes.push(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : errorMessage(err)}`);
        return;
      }
      const parsed = utils.parseKey(data);
      const key = Array.isArray(parsed) ? parsed[0] : parsed;
      if (key instanceof Error || !key.isPrivateKey()) {
        notes.push(`${file}: ${key instanceof Error ? key.message : 'not a private key'} (use ssh-agent for passphrase-protected keys)`);
        return;
      }
      candidates.push({ label: `publickey ${file}`, method: { type: 'publickey', username: hop.user, key: data } });
    };
    for (const file of hop.identityFiles) addKey(file, true);
    const agent = this.agentSocket(hop);
    if (agent !== undefined) {
      candidates.push({ label: 'ssh-agent', method: { type: 'agent', username: hop.user, agent } });
    }
    if (hop.useDefaultKeys) {
      for (const name of DEFAULT_IDENTITIES) addKey(join(this.homeDir, '.ssh', name), false);
    }
    return candidates;
  }

  private agentSocket(hop: Hop): string | undefined {
    const sock = this.env.SSH_AUTH_SOCK;
    return sock && !hop.identitiesOnly ? sock : undefined;
  }

  /** One attempt at one hop; rejects with a HopFailure saying whether a retry may help. */
  private async openHop(
    hop: Hop,
    via: string,
    sock: ClientChannel | undefined,
    knownHostsFile: string,
    options: ConnectOptions,
    deadline: number,
    clients: Ssh2Client[],
    abandoned: AbortSignal,
  ): Promise<Ssh2Client> {
    const hostName = knownHostName(hop.host, hop.port);
    let entries;
    try {
      entries = await readKnownHosts(knownHostsFile);
    } catch (err) {
      throw new HopFailure(`cannot read known_hosts file ${knownHostsFile}: ${errorMessage(err)}`, false);
    }
    const algorithms = orderHostKeyAlgorithms(knownKeyTypes(entries, hostName), HOST_KEY_ALGORITHMS).filter(
      (a): a is ServerHostKeyAlgorithm => (HOST_KEY_ALGORITHMS as readonly string[]).includes(a),
    );
    const notes: string[] = [];
    const candidates = this.authCandidates(hop, notes);
    // Held from TCP connect until authenticated (or failed): what MaxStartups counts.
    const release = await this.gate.acquire(`${hop.host}:${hop.port}`, options.urgent);
    if (Date.now() >= deadline) {
      release();
      throw new HopFailure(`timed out waiting to connect to ${hopLabel(hop)}${via}`, false);
    }

    return new Promise<Ssh2Client>((resolve, reject) => {
      const client = new Client();
      clients.push(client);
      let settled = false;
      let handshakeDone = false;
      let authRefused = false;
      let hostKeyProblem: string | undefined;

      // Our own destroy after the connect's timeout is no drop by the server.
      const classify = (error: Ssh2Error | undefined): boolean =>
        !abandoned.aborted && isRetryable({ error, hostKeyRejected: hostKeyProblem !== undefined, authRefused });
      const fail = (message: string, retryable: boolean): void => {
        if (settled) return;
        settled = true;
        // A drop tells the gate this server takes fewer handshakes at once.
        release(retryable ? 'dropped' : undefined);
        client.destroy();
        const at = clients.indexOf(client);
        if (at >= 0) clients.splice(at, 1);
        reject(new HopFailure(`${hostKeyProblem ?? message}${via}`, retryable));
      };
      // The candidates in order, as ssh2 would take an array; called again only when the
      // previous one did not get us in: from then on a failure is about credentials.
      let nextCandidate = 0;
      const authHandler = (): AnyAuthMethod | false => {
        if (nextCandidate > 0) authRefused = true;
        return candidates[nextCandidate++]?.method ?? false;
      };

      const hostVerifier: HostVerifier = (key, verify) => {
        verifyHostKey(entries, knownHostsFile, hostName, key, options.acceptNewHostKeys).then(
          (problem) => {
            hostKeyProblem = problem;
            verify(problem === undefined);
          },
          (err: unknown) => {
            hostKeyProblem = `cannot check the host key of ${hostName}: ${errorMessage(err)}`;
            verify(false);
          },
        );
      };

      client.on('handshake', () => {
        handshakeDone = true;
      });
      client.on('error', (err: Ssh2Error) => {
        if (err.level === 'agent') {
          notes.push(`ssh-agent: ${err.message}`);
          return;
        }
        if (settled) return; // after ready, the session's own listener reports it
        fail(describeConnectError(err, hop, handshakeDone, candidates, notes, this.agentSocket(hop) !== undefined, this.homeDir), classify(err));
      });
      client.on('close', () => fail(`connection to ${hopLabel(hop)} closed before authentication`, classify(undefined)));
      client.once('ready', () => {
        if (settled) return;
        settled = true;
        release('ok');
        resolve(client);
      });

      const remaining = Math.max(1, deadline - Date.now());
      const config: ConnectConfig = {
        host: hop.host,
        port: hop.port,
        username: hop.user,
        authHandler,
        hostVerifier,
        algorithms: { serverHostKey: algorithms },
        keepaliveInterval: this.keepaliveIntervalMs,
        keepaliveCountMax: this.keepaliveCountMax,
        readyTimeout: remaining,
      };
      const agent = this.agentSocket(hop);
      if (agent !== undefined) config.agent = agent;
      if (sock !== undefined) config.sock = sock;
      if (this.debug) config.debug = this.debug;
      try {
        client.connect(config);
      } catch (err) {
        fail(`cannot start SSH to ${hopLabel(hop)}: ${errorMessage(err)}`, false);
      }
    });
  }
}

async function verifyHostKey(
  entries: Awaited<ReturnType<typeof readKnownHosts>>,
  file: string,
  hostName: string,
  key: Buffer,
  acceptNew: boolean,
): Promise<string | undefined> {
  let verdict: HostKeyVerdict = checkHostKey(entries, hostName, key);
  if (verdict.status === 'unknown' && acceptNew) {
    verdict = await appendKnownHost(file, hostName, key);
    if (verdict.status === 'unknown') return undefined; // recorded just now
  }
  return describeVerdict(verdict, file, hostName, key);
}

/** undefined when the key is accepted, otherwise the reason it is refused. */
export function describeVerdict(verdict: HostKeyVerdict, file: string, hostName: string, key: Buffer): string | undefined {
  const presented = `${keyTypeOfBlob(key) ?? 'unknown type'} ${fingerprint(key)}`;
  switch (verdict.status) {
    case 'known':
      return undefined;
    case 'unknown':
      return (
        `host key for ${hostName} is unknown (${presented}); verify it and re-run with ` +
        `--accept-new-host-keys, or add it to ${file}`
      );
    case 'changed':
      return (
        `host key for ${hostName} has CHANGED (now ${presented}): possible man-in-the-middle; ` +
        `remove the old entry from ${file} line ${verdict.entry.line} if the change is legitimate`
      );
    case 'revoked':
      return `host key for ${hostName} (${presented}) is REVOKED in ${file} line ${verdict.entry.line}`;
    case 'other-type':
      return (
        `host ${hostName} is known in ${file} with key type ${verdict.knownTypes.join(', ')} but presented ` +
        `${presented}; not recorded automatically: verify it and add it to ${file}`
      );
  }
}

function describeConnectError(
  err: Ssh2Error,
  hop: Hop,
  handshakeDone: boolean,
  candidates: AuthCandidate[],
  notes: string[],
  agentConfigured: boolean,
  homeDir: string,
): string {
  const where = `${hop.host}:${hop.port}`;
  switch (err.code) {
    case 'ECONNREFUSED':
      return `connection refused by ${where}`;
    case 'ETIMEDOUT':
      return `TCP connection to ${where} timed out`;
    case 'EHOSTUNREACH':
      return `no route to host ${where}`;
    case 'ENETUNREACH':
      return `network unreachable for ${where}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve host name ${hop.host}`;
    case 'ECONNRESET':
      return `connection reset by ${where}`;
  }
  if (err.message === 'Connection lost before handshake') return `${where} closed the connection before the SSH handshake`;
  if (err.level === 'client-timeout') return `timed out waiting for the SSH handshake with ${where}`;
  if (err.level === 'client-authentication' || handshakeDone) {
    const tried = candidates.length > 0 ? `tried ${candidates.map((c) => c.label).join(', ')}` : noKeyText(agentConfigured, homeDir);
    const server = err.level === 'client-authentication' ? '' : `; server said: ${err.message}`;
    const extra = notes.length > 0 ? `; ${notes.join('; ')}` : '';
    return `authentication failed for ${hopLabel(hop)} (${tried})${server}${extra}`;
  }
  return `SSH connection to ${where} failed: ${err.message}`;
}

function noKeyText(agentConfigured: boolean, homeDir: string): string {
  return `no key to try: no identity file, no default key in ${join(homeDir, '.ssh')}${agentConfigured ? '' : ', SSH_AUTH_SOCK not set'}`;
}

function timeoutMessage(timeoutMs: number, progress: ConnectProgress, hops: Hop[]): string {
  const base = `timed out after ${timeoutMs} ms connecting to ${hopLabel(progress.hop)}${viaText(hops, progress.hop)}`;
  if (progress.lastCause === undefined) return base;
  return `${base} on attempt ${progress.attempts}; the earlier ones were reset or closed before authentication, the last: ${progress.lastCause}`;
}

function viaText(hops: Hop[], hop: Hop): string {
  const index = hops.indexOf(hop);
  if (index <= 0) return '';
  return ` (via ${hops.slice(0, index).map(hopLabel).join(' -> ')})`;
}

function forwardOut(client: Ssh2Client, from: Hop, to: Hop): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    try {
      client.forwardOut('127.0.0.1', 0, to.host, to.port, (err, channel) => {
        if (err) {
          reject(new HopFailure(`jump host ${hopLabel(from)} could not connect to ${to.host}:${to.port}: ${err.message}`, false));
          return;
        }
        channel.on('error', () => undefined); // the next hop's Client reports socket errors itself
        resolve(channel);
      });
    } catch (err) {
      reject(new HopFailure(`jump host ${hopLabel(from)} is not connected: ${errorMessage(err)}`, false));
    }
  });
}

/** One authenticated connection (plus the jump connections under it). */
class Ssh2Session implements Session {
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

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
