// A router's reply that cannot be read as the facts it should hold.

export class GatherError extends Error {
  override name = 'GatherError';
}

/**
 * The lines of a fact's output, each at most maxChars long: a longer one is refused before any
 * regular expression sees it (a router controls this text; some patterns cost quadratic time
 * on a long run of blanks).
 */
export function boundedLines(text: string, what: string, maxChars = 4096): string[] {
  const lines = text.split('\n');
  const long = lines.findIndex((l) => l.length > maxChars);
  if (long >= 0) throw new GatherError(`${what}: line ${long + 1} is ${lines[long].length} characters long (at most ${maxChars} are read)`);
  return lines;
}
