// Finding the prompt line of a conversation (see ConverseOptions) in a remote's output.

/** The output before and after the first line that is exactly `prompt`, or undefined if none is complete yet. */
export function splitAtPrompt(stdout: string, prompt: string): { before: string; after: string } | undefined {
  const line = `${prompt}\n`;
  const at = stdout.startsWith(line) ? 0 : stdout.indexOf(`\n${line}`);
  if (at < 0) return undefined;
  const start = at === 0 && stdout.startsWith(line) ? 0 : at + 1;
  return { before: stdout.slice(0, start), after: stdout.slice(start + line.length) };
}

/**
 * Watches output arriving in chunks for the prompt line. Each chunk is searched once, with
 * the few characters before it (a prompt split across chunks): a remote that prints much
 * without a prompt costs linear time. (Searching the whole output again on every chunk made
 * V8 flatten it each time: quadratic, seconds of a blocked event loop at a few MB.)
 */
export class PromptWatch {
  private readonly chunks: string[] = [];
  /** The end of the output so far, as much as a prompt line less one character; '\n' at the start, where a prompt line may begin. */
  private tail = '\n';
  private readonly line: string;

  constructor(private readonly prompt: string) {
    this.line = `\n${prompt}\n`;
  }

  /** The output split at the prompt line once it has arrived whole, else undefined. */
  feed(chunk: string): { before: string; after: string } | undefined {
    this.chunks.push(chunk);
    const window = this.tail + chunk;
    this.tail = window.slice(-(this.line.length - 1));
    return window.includes(this.line) ? splitAtPrompt(this.chunks.join(''), this.prompt) : undefined;
  }
}
