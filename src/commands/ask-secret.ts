// --ask-pass and --ask-become-pass: passwords typed at the terminal without echo, or read one
// line each from standard input when it is not a terminal (a pipe from a password manager).
// They stay in memory as Secret values; nothing is written anywhere.
import { Secret } from '../model/secret.js';
import { UsageError } from '../errors.js';

/** Asks one question; resolves with the answer (without its line end). */
export type AskLine = (prompt: string) => Promise<string>;

export interface AskedSecrets {
  password?: Secret;
  becomePassword?: Secret;
}

/** As Ansible asks: the SSH password first; an empty become password means the SSH one. */
export async function askSecrets(opts: { askPass?: boolean; askBecomePass?: boolean }, ask: AskLine): Promise<AskedSecrets> {
  const asked: AskedSecrets = {};
  if (opts.askPass) asked.password = new Secret(await ask('SSH password: '));
  if (opts.askBecomePass) {
    const line = await ask(opts.askPass ? 'BECOME password[defaults to SSH password]: ' : 'BECOME password: ');
    asked.becomePassword = line === '' && asked.password ? asked.password : new Secret(line);
  }
  return asked;
}

let pipedLines: AsyncIterator<string> | undefined;

/** The terminal without echo (prompt on stderr), or the next line of a piped standard input. */
export const askLine: AskLine = async (prompt) => {
  const stdin = process.stdin;
  if (stdin.isTTY) return readHidden(prompt);
  if (!pipedLines) {
    const { createInterface } = await import('node:readline');
    pipedLines = createInterface({ input: stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();
  }
  const next = await pipedLines.next();
  if (next.done) throw new UsageError(`${prompt.replace(/[:\s[\]]+$/, '')}: standard input ended before a password line`);
  return next.value;
};

function readHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    process.stderr.write(prompt);
    let typed = '';
    const wasRaw = stdin.isRaw;
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (err?: Error): void => {
      stdin.off('data', onData);
      stdin.setRawMode(wasRaw);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: string): void => {
      for (const c of chunk) {
        if (c === '\r' || c === '\n') return done();
        if (c === '\u0003') return done(new UsageError('interrupted'));
        if (c === '\u0004' && typed === '') return done(new UsageError('no password given'));
        if (c === '\u007f' || c === '\b') typed = typed.slice(0, -1);
        else if (c === '\u0015') typed = '';
        else typed += c;
      }
    };
    stdin.on('data', onData);
  });
}
