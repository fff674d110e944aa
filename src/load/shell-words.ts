// Splits an INI host line into words the way Ansible does (Python's shlex.split in POSIX
// mode with # comments): quotes group and vanish, backslash escapes, # starts a comment
// even inside a word. Each word keeps the column where it starts, for diagnostics.

export interface Word {
  text: string;
  /** 0-based index in the line of the word's first character. */
  start: number;
  /** Index just after its last character, quotes included. */
  end: number;
}

export class ShellWordsError extends Error {
  constructor(
    message: string,
    readonly index: number,
  ) {
    super(message);
  }
}

const WHITESPACE = ' \t\r\n';

export function splitShellWords(line: string): Word[] {
  const words: Word[] = [];
  let token = '';
  let quoted = false;
  let start = -1;
  /** ' ' between words, 'a' in a word, a quote char inside quotes. */
  let state: ' ' | 'a' | "'" | '"' = ' ';
  const emit = (end: number): void => {
    if (token !== '' || quoted) words.push({ text: token, start, end });
    token = '';
    quoted = false;
    start = -1;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (state === ' ' || state === 'a') {
      if (WHITESPACE.includes(c)) {
        if (state === 'a') emit(i);
        state = ' ';
      } else if (c === '#') {
        if (state === 'a') emit(i);
        state = ' ';
        break;
      } else {
        if (state === ' ') start = i;
        state = 'a';
        if (c === "'" || c === '"') {
          state = c;
          quoted = true;
        } else if (c === '\\') {
          if (i + 1 >= line.length) throw new ShellWordsError('No escaped character', i);
          token += line[++i];
        } else {
          token += c;
        }
      }
      continue;
    }
    // Inside quotes: only a double-quoted \" or \\ is an escape.
    if (c === state) {
      state = 'a';
    } else if (state === '"' && c === '\\') {
      const n = line[i + 1];
      if (n === undefined) throw new ShellWordsError('No escaped character', i);
      token += n === '"' || n === '\\' ? n : `\\${n}`;
      i++;
    } else {
      token += c;
    }
  }
  if (state === "'" || state === '"') throw new ShellWordsError('No closing quotation', start);
  if (state === 'a') emit(line.length);
  return words;
}
