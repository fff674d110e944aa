// Fact: what the router has for multilink's run-time parts: which ping (iputils marks its
// probes; BusyBox's cannot, but binds to the interface like every ping -I), whether
// conntrack is there (to move a failed link's flows), and whether the state folder lives on
// a volatile filesystem (OpenWrt's /var is RAM: generations there vanish at reboot), whether
// it has iptables at all, and whether its ip is iproute2 (BusyBox's makes no `oif` rules).
import type { PingKind, RouterTools } from '../model/facts.js';
import { StateLayout } from '../shell/layout.js';
import { sh, type Sh } from '../shell/sh.js';

export function routerToolsCommand(stateDir: string): Sh {
  const dir = new StateLayout(stateDir).dir;
  // Builtins where they do: a gather runs in every change, twice.
  return sh`if ! command -v ping >/dev/null 2>&1; then echo 'ping missing'
else
  case $(ping -V 2>&1) in
    *iputils*) echo 'ping iputils' ;;
    *) case $(ping --help 2>&1) in *BusyBox*) echo 'ping busybox' ;; *) echo 'ping other' ;; esac ;;
  esac
fi
if command -v conntrack >/dev/null 2>&1; then echo 'conntrack yes'; else echo 'conntrack no'; fi
if command -v iptables-save >/dev/null 2>&1 || command -v iptables-nft-save >/dev/null 2>&1 || command -v iptables-legacy-save >/dev/null 2>&1; then echo 'iptables yes'; else echo 'iptables no'; fi
case $(ip -V 2>&1) in *iproute2*) echo 'ip-oif yes' ;; *) echo 'ip-oif no' ;; esac
ml_d=${dir}
while [ ! -e "$ml_d" ] && [ -n "$ml_d" ] && [ "$ml_d" != / ]; do ml_d=\${ml_d%/*}; done
ml_d=$(cd -P "\${ml_d:-/}" 2>/dev/null && pwd -P || echo "\${ml_d:-/}")
awk -v p="$ml_d" '{ m = $2; if ((p == m || index(p, m == "/" ? "/" : m "/") == 1) && length(m) >= best) { best = length(m); t = $3 } } END { print "state-fs " t }' /proc/mounts`;
}

export function parseRouterTools(text: string): RouterTools {
  const tools: RouterTools = { ping: 'missing', conntrack: false, stateFs: '' };
  for (const line of text.split('\n')) {
    const [key, value = ''] = line.trim().split(/\s+/, 2);
    if (key === 'ping' && ['iputils', 'busybox', 'other', 'missing'].includes(value)) tools.ping = value as PingKind;
    else if (key === 'conntrack') tools.conntrack = value === 'yes';
    else if (key === 'iptables') tools.iptables = value === 'yes';
    else if (key === 'ip-oif') tools.ipOif = value === 'yes';
    else if (key === 'state-fs') tools.stateFs = value;
  }
  return tools;
}

/** Filesystems whose content is gone after a reboot. */
export function isVolatileFs(fs: string): boolean {
  return fs === 'tmpfs' || fs === 'ramfs';
}
