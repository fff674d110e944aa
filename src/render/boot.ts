// The boot hook: at boot the router restores its last confirmed generation by itself
// ($S/boot.sh runs the state.sh of the generation named in $S/current). Installed when a
// generation is confirmed: systemd unit, init.d script (sysvinit, OpenWrt's procd), or a
// plain script at a path of the operator's choosing.
import type { BootSetting } from '../model/config.js';
import { bootProgram, initdProgram } from '../remote/programs.js';
import { StateLayout } from '../shell/layout.js';
import { lines, writeFile } from '../shell/lib.js';
import { sh, type Sh } from '../shell/sh.js';

export const SYSTEMD_UNIT = '/etc/systemd/system/multilink-restore.service';
export const SYSTEMD_WANTS = '/etc/systemd/system/multi-user.target.wants/multilink-restore.service';
export const INITD_SCRIPT = '/etc/init.d/multilink';

function systemdUnit(stateDir: string): string {
  return `[Unit]
Description=multilink: restore the last confirmed uplink balancing state
After=network-pre.target network.target
Wants=network.target

[Service]
Type=oneshot
ExecStart=/bin/sh ${new StateLayout(stateDir).bootScript}

[Install]
WantedBy=multi-user.target`;
}

function install(path: string, content: string, mode: string): Sh {
  return lines(writeFile(path, content), sh`chmod ${mode} ${path}`);
}

function customHook(stateDir: string): string {
  return sh`#!/bin/sh
exec sh ${new StateLayout(stateDir).bootScript}`.text;
}

/** What the router has for its boot hook to choose from (for `auto`). */
export interface BootInit {
  systemd: boolean;
  initd: boolean;
}

/**
 * The boot hook's files as ml_install_boot writes them (without their last newline), and the
 * systemd link it makes (path → its target), for a router with the given init.
 */
export function bootHookFiles(boot: BootSetting, stateDir: string, init: BootInit): { files: Record<string, string>; links: Record<string, string> } {
  if (boot === 'none') return { files: {}, links: {} };
  const files: Record<string, string> = { [new StateLayout(stateDir).bootScript]: bootProgram(stateDir).text };
  const links: Record<string, string> = {};
  const kind = boot === 'auto' ? (init.systemd ? 'systemd' : init.initd ? 'initd' : 'hook only') : boot;
  if (kind === 'systemd') {
    files[SYSTEMD_UNIT] = systemdUnit(stateDir);
    links[SYSTEMD_WANTS] = SYSTEMD_UNIT;
  } else if (kind === 'initd') {
    files[INITD_SCRIPT] = initdProgram(stateDir).text;
  } else if (kind !== 'hook only') {
    files[kind] = customHook(stateDir);
  }
  return { files, links };
}

/**
 * The function ml_install_boot, a step of the apply when the hook is missing or differs (a
 * deleted or changed hook is drift). The hook only restores the generation that is current,
 * which only a confirmation changes: installing it early changes nothing at boot until then.
 */
export function bootInstallFunction(boot: BootSetting, stateDir: string): Sh {
  const layout = new StateLayout(stateDir);
  if (boot === 'none') return sh`ml_install_boot() { :; }`;
  const hook = install(layout.bootScript, bootProgram(stateDir).text, '700');
  const systemd = lines(
    install(SYSTEMD_UNIT, systemdUnit(stateDir), '644'),
    sh`mkdir -p /etc/systemd/system/multi-user.target.wants && ln -sf ${SYSTEMD_UNIT} ${SYSTEMD_WANTS}`,
  );
  const initd = lines(
    install(INITD_SCRIPT, initdProgram(stateDir).text, '755'),
    // OpenWrt (/etc/rc.d), Debian-style sysvinit (update-rc.d), or plain rc2.d links.
    sh`if [ -d /etc/rc.d ]; then ln -sf ../init.d/multilink /etc/rc.d/S99multilink; elif command -v update-rc.d >/dev/null 2>&1; then update-rc.d multilink defaults >/dev/null 2>&1; elif [ -d /etc/rc2.d ]; then ln -sf ../init.d/multilink /etc/rc2.d/S99multilink; fi`,
  );
  let body: Sh;
  if (boot === 'systemd') body = lines(hook, systemd);
  else if (boot === 'initd') body = lines(hook, initd);
  else if (boot === 'auto') body = lines(hook, sh`if [ -d /run/systemd/system ]; then`, systemd, sh`elif [ -d /etc/init.d ]; then`, initd, sh`fi`);
  // An absolute path: a plain hook script there, for a custom init or a test.
  else body = lines(hook, sh`mkdir -p "$(dirname ${boot})"`, install(boot, customHook(stateDir), '755'));
  return sh`ml_install_boot() {
${body}
}`;
}
