// Asking for a secret (a vault password) on the terminal, as getpass does: the question and
// the answer go through /dev/tty with echo off, so stdout and stderr stay clean for --json and
// pipes. Without a terminal, one line is read from standard input (a password piped in).
import { closeSync, openSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { ReadStream } from 'node:tty';

export interface LineState {
  text: string;
  /** 'line': Enter was pressed; 'eof': Ctrl-D on an empty line; 'interrupt': Ctrl-C. */
  end?: 'line' | 'eof' | 'interrupt';
}

/** Applies keys typed in raw mode to the answer so far: pure, so it is tested without a terminal. */
export function typeKeys(state: LineState, keys: string): LineState {
  let text = state.text;
  for (const ch of keys) {
    if (ch === '\r' || ch === '\n') return { text, end: 'line' };
    if (ch === '\u0003') return { text: '', end: 'interrupt' };
    if (ch === '\u0004') {
      if (text === '') return { text, end: 'eof' };
      continue;
    }
    if (ch === '\u0015') text = ''; // Ctrl-U: start over
    else if (ch === '\u007f' || ch === '\b') text = Array.from(text).slice(0, -1).join('');
    else if (ch >= ' ') text += ch;
  }
  return { text };
}

/** The typed answer, or undefined at the end of input; rejects when the user presses Ctrl-C. */
export async function promptSecret(question: string): Promise<string | undefined> {
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch {
    return readStdinLine(question);
  }
  let input: ReadStream;
  try {
    input = new ReadStream(fd);
  } catch {
    closeSync(fd);
    return readStdinLine(question);
  }
  // Echo goes off before the question shows: keys typed ahead are never echoed.
  input.setRawMode(true);
  writeSync(fd, question);
  return new Promise((resolve, reject) => {
    let state: LineState = { text: '' };
    const onData = (chunk: Buffer): void => {
      state = typeKeys(state, chunk.toString('utf8'));
      if (!state.end) return;
      input.removeListener('data', onData);
      input.setRawMode(false);
      writeSync(fd, '\n');
      input.destroy(); // closes fd
      if (state.end === 'interrupt') reject(new Error('interrupted at the password prompt'));
      else resolve(state.end === 'eof' ? undefined : state.text);
    };
    input.on('data', onData);
  });
}

/** No terminal to ask on: the first line of standard input, as getpass falls back to. */
function readStdinLine(question: string): Promise<string | undefined> {
  if (process.stdin.isTTY) return Promise.resolve(undefined);
  process.stderr.write(`${question}(no terminal: reading it from standard input)\n`);
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, terminal: false });
    let answered = false;
    rl.once('line', (line) => {
      answered = true;
      rl.close();
      process.stdin.pause();
      resolve(line);
    });
    rl.once('close', () => {
      if (!answered) resolve(undefined);
    });
  });
}
