// Checks of what the router has against what the desired state needs at run time: a ping
// the link monitor can probe with, conntrack to move a failed link's flows, and a state
// folder that survives a reboot (OpenWrt's /var is RAM).
import type { Diagnostics } from '../diagnostics.js';
import type { DesiredState } from '../model/desired.js';
import type { HostFacts } from '../model/facts.js';
import { isVolatileFs } from '../facts/router.js';
import { linkMonitor } from '../compile/monitor.js';
import { DEFAULT_STATE_DIR } from '../shell/layout.js';

export function checkRouter(desired: DesiredState, facts: HostFacts, diags: Diagnostics): void {
  const host = desired.host;
  const t = facts.tools;
  if (desired.monitor?.probes) {
    if (t.ping === 'missing') {
      diags.error('the link monitor probes each link with `ping -I IFACE`, and this router has no ping', {
        host,
        detail: 'install iputils-ping (Debian, Ubuntu: apt-get install iputils-ping) or BusyBox with its ping applet (OpenWrt has it), or remove health from the play',
      });
    } else if (t.ping === 'other') {
      diags.warning('the ping on this router is neither iputils nor BusyBox: the link monitor needs `ping -c 1 -W SEC -w SEC -I IFACE` (whole seconds)', { host });
    }
  }
  if (linkMonitor(desired.monitor) && !t.conntrack && desired.resetDown) {
    diags.warning('conntrack is not installed: when the monitor takes a link out, the table resets its TCP connections and refuses its other flows\' packets (ICMP port unreachable) until they reconnect or fall silent for conntrack\'s timeout', {
      host,
      detail: 'install conntrack to move them at once (Debian: apt-get install conntrack; OpenWrt: opkg install conntrack, or apk add conntrack)',
    });
  } else if (linkMonitor(desired.monitor) && !t.conntrack) {
    diags.warning('conntrack is not installed: when the monitor takes a link out, its UDP flows and tunnels stay on it until they time out', {
      host,
      detail: 'install conntrack (Debian: apt-get install conntrack; OpenWrt: opkg install conntrack)',
    });
  }
  if (isVolatileFs(t.stateFs)) {
    const what = `the state folder ${desired.settings.stateDir} is on ${t.stateFs}, which a reboot empties: the boot hook would find no generation to restore`;
    if (desired.settings.stateDir === DEFAULT_STATE_DIR) {
      diags.error(what, { host, detail: 'set multilink_state_dir to a folder on persistent storage (on OpenWrt, /etc/multilink)' });
    } else {
      diags.warning(what, { host });
    }
  }
}
