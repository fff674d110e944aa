// The boot hook: at boot the router restores its last confirmed generation by itself
// (state.sh of the generation named in $S/current). Installed when a generation is confirmed.
import type { BootSetting } from '../model/config.js';
import { quote } from '../quote.js';
import { catTo } from './script.js';

export const SYSTEMD_UNIT = '/etc/systemd/system/multilink-restore.service';
export const INITD_SCRIPT = '/etc/init.d/multilink';

/** $S/boot.sh: what every hook runs. */
export function bootScript(stateDir: string): string {
  const s = quote(stateDir);
  return `#!/bin/sh
# multilink: restore the last confirmed generation (written by multilink; do not edit)
ml_gen=$(cat ${s}/current 2>/dev/null) || exit 0
case "$ml_gen" in ''|*[!0-9]*) exit 0 ;; esac
exec sh ${s}/generations/"$ml_gen"/state.sh`;
}

function systemdUnit(stateDir: string): string {
  return `[Unit]
Description=multilink: restore the last confirmed uplink balancing state
After=network-pre.target network.target
Wants=network.target

[Service]
Type=oneshot
ExecStart=/bin/sh ${quote(`${stateDir}/boot.sh`)}

[Install]
WantedBy=multi-user.target`;
}

function initdScript(stateDir: string): string {
  return `#!/bin/sh
# multilink: restore the last confirmed uplink balancing state
### BEGIN INIT INFO
# Provides:          multilink
# Required-Start:    $network
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:
# Short-Description: multilink uplink balancing
### END INIT INFO
START=99
case "$1" in
  start|boot|"") sh ${quote(stateDir)}/boot.sh ;;
  *) exit 0 ;;
esac`;
}

function write(path: string, content: string, mode: string): string[] {
  const tmp = quote(`${path}.tmp`);
  return [catTo(tmp, content), `chmod ${mode} ${tmp} && mv -f ${tmp} ${quote(path)}`];
}

/** Shell lines installing the hook; run at confirmation. Failures here do not undo a confirmed apply. */
export function bootSteps(boot: BootSetting, stateDir: string): string[] {
  if (boot === 'none') return [];
  const lines = write(`${stateDir}/boot.sh`, bootScript(stateDir), '700');
  const systemd = [
    ...write(SYSTEMD_UNIT, systemdUnit(stateDir), '644'),
    `mkdir -p /etc/systemd/system/multi-user.target.wants && ln -sf ${SYSTEMD_UNIT} /etc/systemd/system/multi-user.target.wants/multilink-restore.service`,
  ];
  const initd = [
    ...write(INITD_SCRIPT, initdScript(stateDir), '755'),
    // OpenWrt (/etc/rc.d), Debian-style sysvinit (update-rc.d), or plain rc2.d links.
    `if [ -d /etc/rc.d ]; then ln -sf ../init.d/multilink /etc/rc.d/S99multilink; elif command -v update-rc.d >/dev/null 2>&1; then update-rc.d multilink defaults >/dev/null 2>&1; elif [ -d /etc/rc2.d ]; then ln -sf ../init.d/multilink /etc/rc2.d/S99multilink; fi`,
  ];
  if (boot === 'systemd') return [...lines, ...systemd];
  if (boot === 'initd') return [...lines, ...initd];
  if (boot === 'auto') {
    return [...lines, 'if [ -d /run/systemd/system ]; then', ...systemd.map((l) => `  ${l}`), 'elif [ -d /etc/init.d ]; then', ...initd.map((l) => `  ${l}`), 'fi'];
  }
  // An absolute path: a plain hook script there, for a custom init or a test.
  return [...lines, `mkdir -p "$(dirname ${quote(boot)})"`, ...write(boot, `#!/bin/sh\nexec sh ${quote(stateDir)}/boot.sh`, '755')];
}
