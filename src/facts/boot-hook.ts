// Fact: the boot hook multilink installs (src/render/boot.ts) as it is on the router: which
// init the router has (for `auto`), each file of the hook and the systemd link, so a deleted
// or changed hook is drift.
import type { BootSetting } from '../model/config.js';
import type { BootHookFacts } from '../model/facts.js';
import { bootHookFiles } from '../render/boot.js';
import { lines, section } from '../shell/lib.js';
import { ABSENT } from '../shell/reply.js';
import { sh, type Sh } from '../shell/sh.js';

/** Sections `boot-hook-init`, `boot-hook PATH` for each file any init would get, `boot-hook-link PATH`; nothing for `none`. */
export function bootHookSections(boot: BootSetting, stateDir: string): Sh | undefined {
  if (boot === 'none') return undefined;
  const both = [bootHookFiles(boot, stateDir, { systemd: true, initd: false }), bootHookFiles(boot, stateDir, { systemd: false, initd: true })];
  const files = [...new Set(both.flatMap((b) => Object.keys(b.files)))];
  const links = [...new Set(both.flatMap((b) => Object.keys(b.links)))];
  return lines(
    section('boot-hook-init', sh`if [ -d /run/systemd/system ]; then echo systemd; fi; if [ -d /etc/init.d ]; then echo initd; fi`),
    ...files.map((f) => section(`boot-hook ${f}`, sh`ml_read ${f}`)),
    ...links.map((l) => section(`boot-hook-link ${l}`, sh`readlink ${l} 2>/dev/null || echo ${ABSENT}`)),
  );
}

/** From a gather's sections (name → body); undefined when it gathered no boot hook. */
export function parseBootHook(sections: { name: string; body: string }[]): BootHookFacts | undefined {
  const init = sections.find((s) => s.name === 'boot-hook-init');
  if (!init) return undefined;
  const facts: BootHookFacts = { systemd: /^systemd$/m.test(init.body), initd: /^initd$/m.test(init.body), files: {}, links: {} };
  const value = (body: string): string | null => (body.trim() === ABSENT ? null : body.replace(/\n+$/, ''));
  for (const s of sections) {
    if (s.name.startsWith('boot-hook-link ')) facts.links[s.name.slice('boot-hook-link '.length)] = value(s.body);
    else if (s.name.startsWith('boot-hook ')) facts.files[s.name.slice('boot-hook '.length)] = value(s.body);
  }
  return facts;
}
