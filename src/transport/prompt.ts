// Finding the prompt line of a conversation (see ConverseOptions) in a remote's output.

/** The output before and after the first line that is exactly `prompt`, or undefined if none is complete yet. */
export function splitAtPrompt(stdout: string, prompt: string): { before: string; after: string } | undefined {
  const line = `${prompt}\n`;
  const at = stdout.startsWith(line) ? 0 : stdout.indexOf(`\n${line}`);
  if (at < 0) return undefined;
  const start = at === 0 && stdout.startsWith(line) ? 0 : at + 1;
  return { before: stdout.slice(0, start), after: stdout.slice(start + line.length) };
}
