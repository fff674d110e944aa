// The README's own words, for tests that run what it tells an operator to run.
import { readFileSync } from 'node:fs';

const README = new URL('../../README.md', import.meta.url);

/** The text of the README section under `## TITLE`, up to the next `## `. */
export function readmeSection(title: string): string {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README has no section "## ${title}"`);
  const end = text.indexOf('\n## ', start + 4);
  return text.slice(start, end < 0 ? undefined : end);
}

/** Every fenced block of `lang` in `section`, in order, without its fences. */
export function fencedBlocks(section: string, lang: string): string[] {
  const blocks: string[] = [];
  const re = new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```$', 'gm');
  for (let m = re.exec(section); m; m = re.exec(section)) blocks.push(m[1]);
  return blocks;
}

/** The block whose first line is `# NAME` (how the README names a file it shows). */
export function namedFile(section: string, name: string): string {
  const found = fencedBlocks(section, 'yaml').find((b) => b.startsWith(`# ${name}\n`));
  if (found === undefined) throw new Error(`the README section shows no file ${name}`);
  return found;
}

/** The command lines of an sh block, comments and blank lines dropped, split into words. */
export function commandLines(block: string): string[][] {
  return block
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(/\s+/));
}
