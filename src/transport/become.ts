// become (ansible_become): how a script reaches `sh -s` as another user, and how the password
// reaches sudo, su or doas: on their standard input or terminal, after their prompt, never on
// a command line. Pure: the session (ssh2-session.ts) feeds the channel's output in and writes
// what comes out.
//
// Without a password, sudo runs as before: `sudo -n`, which fails at once instead of prompting.
// With one (or with su or doas), the channel first runs a handshake: the become command prints
// BECOME_OK once it runs as the target user; a password prompt before that is answered once,
// a second prompt means the password was refused; no script byte is sent before BECOME_OK, so
// a refused password runs nothing and leaves nothing behind.
//
// sudo -S and su read the password from a pipe. doas reads it only from a terminal, so its
// channel has a pseudo-terminal; its become'd shell (PTY_WRAPPER) sets the terminal raw, then
// the script travels line-framed (D…: a line, P…: a last part without newline, E: the end) and
// standard error comes back marked (RS … newline) within standard output, with the exit code
// last (US code newline), since a terminal carries one stream each way and knows no EOF.
import type { BecomeMethod, ConnectionVars } from '../model/config.js';
import { redact, type Secret } from '../model/secret.js';
import { quote } from '../shell/quote.js';
import { sh, type Sh } from '../shell/sh.js';

export interface BecomeSpec {
  method: BecomeMethod;
  /** Default root. */
  user: string;
  password?: Secret;
  /** ansible_become_exe: the command that stands for sudo, su or doas. */
  exe?: string;
  /** ansible_become_flags, split into words: they replace the method's default flags. */
  flags?: readonly string[];
  /** Through a pseudo-terminal: sudo whose sudoers says `Defaults requiretty` (found out by a first try). */
  tty?: boolean;
}

/** What a connection's become vars ask for, if anything. */
export function becomeSpec(connection: ConnectionVars): BecomeSpec | undefined {
  if (!connection.become) return undefined;
  return {
    method: connection.becomeMethod ?? 'sudo',
    user: connection.becomeUser ?? 'root',
    ...(connection.becomePassword ? { password: connection.becomePassword } : {}),
    ...(connection.becomeExe !== undefined ? { exe: connection.becomeExe } : {}),
    ...(connection.becomeFlags !== undefined ? { flags: connection.becomeFlags } : {}),
  };
}

/** The old way, kept for sudo without a password: the whole command line under `sudo -n`. */
export function wrapBecome(command: string, become: boolean, user = 'root'): string {
  if (!become) return command;
  return user === 'root' ? `sudo -n -- sh -c ${quote(command)}` : `sudo -n -u ${quote(user)} -- sh -c ${quote(command)}`;
}

/** Plain sudo without a password needs no handshake (`sudo -n`); another exe or flags do. */
export function needsHandshake(spec: BecomeSpec): boolean {
  return spec.method !== 'sudo' || spec.password !== undefined || spec.exe !== undefined || spec.flags !== undefined || spec.tty === true;
}

/** What sudo says when sudoers requires a terminal (`Defaults requiretty`), or when it needs one to ask. */
const TTY_REQUIRED = /sudo: sorry, you must have a tty to run sudo|sudo: a terminal is required/;

/** A plain `sudo -n` that refused to run without a terminal: worth one more try through one. */
export function sudoWantsTty(spec: BecomeSpec | undefined, code: number | null, stderr: string): boolean {
  return spec?.method === 'sudo' && spec.tty !== true && code === 1 && TTY_REQUIRED.test(stderr);
}

/**
 * sudo's flags as Ansible's sudo plugin makes them when it has a password: `-n` and
 * `--non-interactive` dropped, and the n taken out of a group of short flags (`-Hn` → `-H`).
 */
export function sudoFlagsWithPassword(flags: readonly string[]): string[] {
  const out: string[] = [];
  for (const flag of flags) {
    if (flag === '-n' || flag === '--non-interactive') continue;
    out.push(flag.startsWith('--') ? flag : flag.replace(/^(-\w*)n(\w*.*)$/, '$1$2'));
  }
  return out;
}

export const BECOME_OK = 'multilink-become-ok';
/** sudo's prompt (-p): no % (sudo expands those). */
export const SUDO_PROMPT = 'multilink-become-password:';
/** How long sudo, su or doas may take to let us in (a refused password costs them ~2 s each). */
export const BECOME_TIMEOUT_MS = 30_000;

const ANNOUNCE = sh`printf '%s\\n' ${BECOME_OK}`;

/**
 * The become'd shell of a pseudo-terminal channel: raw terminal, BECOME_OK, then the framed
 * script into `sh -s`; its standard error marked line by line; its exit code last. After the
 * code, the controller sends E so that the input reader ends too.
 */
export const PTY_WRAPPER: Sh = sh`stty raw -echo -iexten 2>/dev/null || { echo 'multilink: stty cannot set the terminal raw' >&2; exit 125; }
ml_in() {
  while IFS= read -r ml_l; do
    case $ml_l in
      D*) printf '%s\\n' "\${ml_l#D}" ;;
      P*) printf '%s' "\${ml_l#P}" ;;
      *) return 0 ;;
    esac
  done
}
ml_err() {
  while IFS= read -r ml_e || [ -n "$ml_e" ]; do printf '\\036%s\\n' "$ml_e"; done
}
exec 3>&1
printf '\\n%s\\n' ${BECOME_OK}
ml_in | {
  ml_rc=$( { { sh -s 3>&- 4>&-; echo "$?" >&4; } 2>&1 1>&3 | ml_err >&3; } 4>&1 )
  printf '\\037%s\\n' "$ml_rc"
  exit "$ml_rc"
}`;

export interface BecomeCommand {
  /** The command line the login shell runs. */
  command: string;
  /** The channel needs a pseudo-terminal (doas): framed input, marked standard error. */
  pty: boolean;
}

/**
 * The command line of a handshake channel that ends in `sh -s` as the become user. As in
 * Ansible, ansible_become_exe replaces the method's command and ansible_become_flags its
 * default flags (sudo: multilink's `-S` without a terminal; su, doas: none); what carries the
 * password is added to them as Ansible adds its prompt: sudo's `-S` (without a terminal) and
 * `-p`, with sudo's `-n` dropped when there is a password. Every word is quoted.
 */
export function becomeCommand(spec: BecomeSpec): BecomeCommand {
  const then = sh`${ANNOUNCE}; exec sh -s`;
  const exe = spec.exe ?? spec.method;
  const flags = spec.flags ?? [];
  switch (spec.method) {
    case 'sudo': {
      const given = spec.password !== undefined ? sudoFlagsWithPassword(flags) : [...flags];
      // Through a terminal sudo reads the password from it; without one, from its standard input.
      if (spec.tty) return { command: sh`${[exe, ...given]} -p ${SUDO_PROMPT} -u ${spec.user} -- sh -c ${PTY_WRAPPER.text}`.text, pty: true };
      const stdin = given.includes('-S') || given.includes('--stdin') ? [] : ['-S'];
      return { command: sh`${[exe, ...given, ...stdin]} -p ${SUDO_PROMPT} -u ${spec.user} -- sh -c ${then.text}`.text, pty: false };
    }
    case 'su':
      // C locale: su's (PAM's) prompt is then "Password: ".
      return { command: sh`LC_ALL=C ${[exe, ...flags, spec.user]} -c ${then.text}`.text, pty: false };
    case 'doas':
      return { command: sh`LC_ALL=C ${[exe, ...flags]} -u ${spec.user} sh -c ${PTY_WRAPPER.text}`.text, pty: true };
  }
}

export interface BecomeWay {
  /** What the channel runs. */
  line: string;
  /** Present when the channel first lets sudo, su or doas in (and then runs `sh -s`). */
  handshake?: BecomeHandshake;
}

/** How a command runs for a become spec (none: as it is). */
export function becomeWay(command: string, spec: BecomeSpec | undefined): BecomeWay {
  if (!spec) return { line: command };
  if (!needsHandshake(spec)) return { line: wrapBecome(command, true, spec.user) };
  if (command !== 'sh -s') throw new Error(`become with a password runs \`sh -s\` only, not \`${command}\``);
  const bc = becomeCommand(spec);
  return { line: bc.command, handshake: new BecomeHandshake(spec, bc.pty) };
}

export type HandshakeStep =
  | { kind: 'wait' }
  /** Write this (the password line) to the channel. */
  | { kind: 'send'; data: string }
  /** In: what followed BECOME_OK on standard output belongs to the script. */
  | { kind: 'ready'; rest: string }
  | { kind: 'fail'; message: string };

const PASSWORD_PROMPT = /password[^\n]*:[ \t]*$/i;
/** A prompt at the start of a line (the answer is not echoed, so what follows is on its line). */
const PROMPT_AT_START = /^[^:\n]*password[^:\n]*:[ \t]*/i;
const MAX_SHOWN = 300;

/** One channel's way in: fed its output until BECOME_OK, a refusal or its end. */
export class BecomeHandshake {
  private out = '';
  private err = '';
  /** Length of the prompt text when the password was sent: a prompt after it is a refusal. */
  private answeredAt: number | undefined;
  private promptSeen = false;

  constructor(
    readonly spec: BecomeSpec,
    readonly pty: boolean,
  ) {}

  /** How become is named in messages: `become (sudo)`, `become (su to admin)`. */
  get label(): string {
    return `become (${this.spec.method}${this.spec.user === 'root' ? '' : ` to ${this.spec.user}`})`;
  }

  feed(stream: 'out' | 'err', text: string): HandshakeStep {
    if (stream === 'out') this.out += text;
    else this.err += text;
    const at = this.markerAt();
    if (at !== undefined) return { kind: 'ready', rest: this.out.slice(at) };
    const promptText = this.promptText();
    if (!this.isPrompt(promptText)) return { kind: 'wait' };
    if (this.answeredAt !== undefined) {
      if (promptText.length <= this.answeredAt) return { kind: 'wait' };
      return { kind: 'fail', message: this.refused() };
    }
    this.promptSeen = true;
    if (this.spec.password === undefined) {
      return { kind: 'fail', message: `${this.label} asks for a password: set ansible_become_password or use --ask-become-pass` };
    }
    this.answeredAt = promptText.length;
    return { kind: 'send', data: `${this.spec.password.reveal()}\n` };
  }

  /** sudo said it needs a terminal (`Defaults requiretty`) before it let us in. */
  get wantsTty(): boolean {
    return this.spec.method === 'sudo' && !this.pty && this.answeredAt === undefined && TTY_REQUIRED.test(this.err);
  }

  /** The channel closed before BECOME_OK. */
  closed(code: number | null): string {
    if (this.answeredAt !== undefined) return this.refused();
    if (this.promptSeen) return `${this.label} asks for a password: set ansible_become_password or use --ask-become-pass`;
    const said = this.remoteText();
    return `${this.label} failed (exit ${code ?? 'by signal'})${said ? `: ${said}` : ''}`;
  }

  timedOut(ms: number): string {
    const said = this.remoteText();
    const state = this.answeredAt !== undefined ? 'the password was sent but no answer came' : 'no password prompt was recognised and no success';
    return `${this.label} did not let us in within ${Math.round(ms / 1000)} s (${state})${said ? `; it said: ${said}` : ''}`;
  }

  private refused(): string {
    const said = this.remoteText();
    return `${this.label} refused the password${said ? ` (${said})` : ''}`;
  }

  /**
   * Where the prompt is: sudo -S and PAM (su) prompt on standard error, BusyBox su (OpenWrt)
   * on standard output; on a terminal everything is one stream.
   */
  private promptText(): string {
    if (this.pty) return this.out;
    if (this.spec.method === 'su' && !this.isPrompt(this.err) && this.isPrompt(this.out)) return this.out;
    return this.err;
  }

  private markerAt(): number | undefined {
    const line = `${BECOME_OK}\n`;
    if (this.out.startsWith(line)) return line.length;
    const at = this.out.indexOf(`\n${line}`);
    return at < 0 ? undefined : at + 1 + line.length;
  }

  private isPrompt(text: string): boolean {
    // sudo writes its prompt without a line end and waits.
    if (this.spec.method === 'sudo' && !this.pty) return text.endsWith(SUDO_PROMPT);
    return PASSWORD_PROMPT.test(text);
  }

  /** What the remote said, without our prompts, its prompts and, in any case, the password. */
  private remoteText(): string {
    const text = (this.pty ? this.out : `${this.out}\n${this.err}`)
      .split(SUDO_PROMPT)
      .join('\n')
      .split(/\r?\n|\r/)
      .map((l) => l.replace(PROMPT_AT_START, '').trim())
      .filter((l) => l !== '' && l !== BECOME_OK)
      .join('; ');
    const safe = redact(text, [this.spec.password]);
    return safe.length > MAX_SHOWN ? `${safe.slice(0, MAX_SHOWN)}…` : safe;
  }
}

/** The controller's side of PTY_WRAPPER's input: lines framed, so that bytes and the end survive a terminal. */
export class PtyInput {
  private partial = '';
  ended = false;

  encode(data: string): string {
    if (this.ended) return '';
    const lines = (this.partial + data).split('\n');
    this.partial = lines.pop() ?? '';
    return lines.map((l) => `D${l}\n`).join('');
  }

  end(data = ''): string {
    if (this.ended) return '';
    const out = this.encode(data) + (this.partial !== '' ? `P${this.partial}\n` : '') + 'E\n';
    this.partial = '';
    this.ended = true;
    return out;
  }
}

/** The controller's side of PTY_WRAPPER's output: standard output, marked standard error, the exit code. */
export class PtyOutput {
  private state: 'out' | 'err' | 'code' = 'out';
  private codeText = '';
  code: number | undefined;

  feed(text: string): { stdout: string; stderr: string } {
    let stdout = '';
    let stderr = '';
    for (const c of text) {
      if (this.state === 'out') {
        if (c === '\x1e') this.state = 'err';
        else if (c === '\x1f') this.state = 'code';
        else stdout += c;
      } else if (this.state === 'err') {
        stderr += c;
        if (c === '\n') this.state = 'out';
      } else if (c === '\n') {
        this.code = Number(this.codeText);
        this.state = 'out';
      } else this.codeText += c;
    }
    return { stdout, stderr };
  }
}

/** A refused or failed become: nothing of the script was sent. */
export class BecomeError extends Error {
  constructor(
    readonly host: string,
    message: string,
    /** sudo refused to go on without a terminal: one more try through one may get in. */
    readonly wantsTty = false,
  ) {
    super(`${host}: ${message}`);
    this.name = 'BecomeError';
  }
}
