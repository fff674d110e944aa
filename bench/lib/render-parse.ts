// Reads `multilink render INVENTORY --host NAME`: the iptables-restore payload and the ip
// rules, routes, sysctls and modules multilink would apply. The Ansible job is built from it.
export interface RenderedRule {
  priority: number;
  /** What follows the priority in `ip rule add`: selector and action (`fwmark 0x100/0xff00 lookup 101`). */
  args: string;
  /** The rule as `ip rule show` prints it after "PRIORITY:\t". */
  show: string;
}

export interface RenderedRoute {
  table: number;
  gateway: string;
  interface: string;
}

export interface RenderedHost {
  payload: string;
  rules: RenderedRule[];
  routes: RenderedRoute[];
  /** Keys as /proc/sys paths (net/ipv4/ip_forward). */
  sysctls: Array<{ key: string; value: string }>;
  modules: string[];
}

const KNOWN = ['iptables-restore --noflush payload', 'ip rules', 'ip routes', 'sysctls', 'modules', 'link monitor'];

function sections(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const [i, line] of text.split('\n').entries()) {
    // A header may say more in parentheses: "# sysctls (ml_sysctl KEY VALUE writes …)".
    const header = i > 0 ? /^# (.+?)(?: \(.*\))?$/.exec(line) : null;
    if (header && line !== '# (none)') {
      current = [];
      out.set(header[1], current);
    } else if (current && line !== '' && line !== '# (none)') {
      current.push(line);
    }
  }
  // A new kind of object multilink applies would make the Ansible job a different job.
  for (const [name, lines] of out) {
    if (!KNOWN.includes(name) && lines.length > 0) throw new Error(`multilink render has a section "# ${name}" that bench/ansible does not reproduce: extend the Ansible job`);
  }
  return out;
}

function need(m: RegExpExecArray | null, line: string, what: string): RegExpExecArray {
  // Quoted values (render quotes anything unusual) are outside what this benchmark supports.
  if (!m) throw new Error(`unexpected ${what} line in multilink render output: ${line}`);
  return m;
}

export function parseRender(text: string): RenderedHost {
  const s = sections(text);
  const get = (name: string): string[] => {
    const v = s.get(name);
    if (!v) throw new Error(`multilink render output lacks the section "# ${name}"`);
    return v;
  };
  const payload = get('iptables-restore --noflush payload');
  const host: RenderedHost = {
    payload: payload.length > 0 ? `${payload.join('\n')}\n` : '',
    rules: get('ip rules').map((l) => {
      const m = need(/^ip -4 rule add priority (\d+) ((?:fwmark 0x[0-9a-f]+\/0x[0-9a-f]+|oif [A-Za-z0-9_.-]+) lookup \d+|lookup main suppress_prefixlength 0)$/.exec(l), l, 'ip rule');
      return { priority: Number(m[1]), args: m[2], show: `from all ${m[2]}` };
    }),
    routes: get('ip routes').map((l) => {
      const m = need(/^ip -4 route replace default via ([\d.]+) dev ([A-Za-z0-9_.-]+) table (\d+)$/.exec(l), l, 'ip route');
      return { gateway: m[1], interface: m[2], table: Number(m[3]) };
    }),
    sysctls: get('sysctls').map((l) => {
      const m = need(/^ml_sysctl ([A-Za-z0-9_/-]+) (\S+)$/.exec(l), l, 'sysctl');
      return { key: m[1], value: m[2] };
    }),
    modules: get('modules').map((l) => need(/^modprobe ([A-Za-z0-9_-]+)$/.exec(l), l, 'modprobe')[1]),
  };
  // The lab's play has no health monitor: a job with one would not be the same job.
  if ((s.get('link monitor') ?? []).length > 0) throw new Error('multilink render has a link monitor, which bench/ansible does not reproduce');
  return host;
}
