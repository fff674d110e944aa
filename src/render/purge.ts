// A removal's files (PurgeOps) as the function ml_purge_files that src/remote/txn-purge.sh
// runs once the removal is confirmed: the boot hook's files and links, the rc links that point
// at its init.d script, and what an interrupted purge left beside the state folder.
import type { PurgeOps } from '../model/plan.js';
import { lines } from '../shell/lib.js';
import { sh, type Sh } from '../shell/sh.js';

export function purgeFilesFunction(p: PurgeOps): Sh {
  const rcLinks = sh`for ml_pl in /etc/rc.d/* /etc/rc[0-6S].d/*; do
    if [ -L "$ml_pl" ] && [ "$(readlink "$ml_pl")" = ../init.d/multilink ]; then rm -f "$ml_pl"; fi
  done
  if command -v update-rc.d >/dev/null 2>&1; then update-rc.d multilink remove >/dev/null 2>&1; fi`;
  const body = lines(
    sh`  :`,
    p.bootFiles.length > 0 && sh`  rm -f ${p.bootFiles}`,
    p.initd && sh`  ${rcLinks}`,
    p.leftovers.length > 0 && sh`  rm -rf ${p.leftovers}`,
  );
  return sh`ml_purge_files() {
${body}
}`;
}
