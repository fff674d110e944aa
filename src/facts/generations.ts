// Fact: the generations kept in the state folder, and which one is confirmed current.
import type { Generations } from '../model/facts.js';
import { StateLayout } from '../shell/layout.js';
import { sh, type Sh } from '../shell/sh.js';

export function generationsCommand(stateDir: string): Sh {
  const s = new StateLayout(stateDir);
  return sh`if { read -r ml_cur < ${s.current}; } 2>/dev/null; then printf 'current %s\\n' "$ml_cur"; fi
for ml_g in ${s.generations}/*; do
  [ -d "$ml_g" ] || continue
  if [ -e "$ml_g/confirmed" ]; then echo "gen \${ml_g##*/} confirmed"; else echo "gen \${ml_g##*/} unconfirmed"; fi
done`;
}

export function parseGenerations(text: string): Generations {
  const result: Generations = { current: null, list: [] };
  for (const line of text.split('\n')) {
    const cur = /^current (\d+)$/.exec(line.trim());
    if (cur) result.current = Number(cur[1]);
    const gen = /^gen (\d+) (confirmed|unconfirmed)$/.exec(line.trim());
    if (gen) result.list.push({ n: Number(gen[1]), confirmed: gen[2] === 'confirmed' });
  }
  result.list.sort((a, b) => a.n - b.n);
  return result;
}
