// The one module that speaks SSH (through ssh2): resolves a target through ~/.ssh/config,
// verifies host keys against known_hosts as OpenSSH does (host-key-verify.ts), authenticates
// with key files and ssh-agent (ssh2-auth.ts), hops through ProxyJump hosts (hop.ts), and
// hands over a session that runs one exec channel per command (ssh2-session.ts). A hop reset
// or closed before authentication (sshd past MaxStartups) is tried again after a jittered
// backoff, a bounded number of times (connect-retry.ts).
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, AuthenticationType, Client as Ssh2Client, ClientChannel, ConnectConfig, HostVerifier } from 'ssh2';
import type { Secret } from '../model/secret.js';
import { errorMessage, UnreachableError } from '../errors.js';
import type { ConnectOptions, ConnectTarget, Session, Transport } from './transport.js';
import { HandshakeGate } from './handshake-gate.js';
import { backoffDelay, checkRetryPolicy, DEFAULT_RETRY_POLICY, isRetryable, retriedMessage, type RetryPolicy } from './connect-retry.js';
import { knownHostName, readKnownHosts } from './known-hosts.js';
import { hostKeyAlgorithms, verifyHostKey } from './host-key-verify.js';
import { agentSocket, authCandidates, describeConnectError, methodName, type AuthCandidate, type Ssh2Error } from './ssh2-auth.js';
import { forwardOut, HopFailure, hopLabel, timeoutMessage, viaText, type ConnectProgress, type Hop } from './hop.js';
import { Ssh2Session } from './ssh2-session.js';
import { expandTilde } from './ssh-config.js';
import { SshConfigSource } from './openssh-config.js';

export { hopLabel, type Hop } from './hop.js';
export { describeVerdict } from './host-key-verify.js';

const { Client } = ssh2;

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
  /** --ask-pass: the login password (and key passphrase) of hosts whose vars give none. */
  password?: Secret;
  /** --ask-become-pass: the become password of hosts whose vars give none. */
  becomePassword?: Secret;
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
  private readonly password: Secret | undefined;
  private readonly becomePassword: Secret | undefined;

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
    this.password = options.password;
    this.becomePassword = options.becomePassword;
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
      ...(cfg.rsaSha1HostKeys ? { rsaSha1HostKeys: true } : {}),
    };
    const password = conn.password ?? this.password;
    if (password !== undefined) targetHop.password = password;
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
        ...(jcfg.rsaSha1HostKeys ? { rsaSha1HostKeys: true } : {}),
        // Ansible hands its one password to ssh (sshpass), which types it at whichever
        // password prompt comes, a ProxyJump host's included: a jump host gets it the same way,
        // after its keys, as the target does.
        ...(password !== undefined ? { password } : {}),
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
      return new Ssh2Session(target.name, clients, this.becomePassword);
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

  private agentSocket(hop: Hop): string | undefined {
    return agentSocket(this.env, hop);
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
    const algorithms = hostKeyAlgorithms(entries, hostName, hop.rsaSha1HostKeys ?? false);
    const notes: string[] = [];
    const candidates = authCandidates(hop, this.homeDir, this.agentSocket(hop), notes);
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
      // The candidates in order, as ssh2 would take an array, less those whose method the
      // server does not take; called again only when the previous one did not get us in: from
      // then on a failure is about credentials.
      let nextCandidate = 0;
      const tried: AuthCandidate[] = [];
      let offered: string[] | undefined;
      const authHandler = (authsLeft: AuthenticationType[] | null): AnyAuthMethod | false => {
        if (tried.length > 0) authRefused = true;
        if (authsLeft) offered = [...authsLeft];
        for (;;) {
          const c = candidates[nextCandidate++];
          if (c === undefined) return false;
          if (authsLeft && !authsLeft.includes(methodName(c) as AuthenticationType)) continue;
          tried.push(c);
          return c.method;
        }
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
        const shown = tried.length > 0 || candidates.length === 0 ? tried : [{ label: `none of ${candidates.map((c) => c.label).join(', ')}`, method: candidates[0].method }];
        fail(describeConnectError(err, hop, handshakeDone, shown, notes, this.agentSocket(hop) !== undefined, this.homeDir, offered), classify(err));
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

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
