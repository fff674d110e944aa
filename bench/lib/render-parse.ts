// Reads `multilink render INVENTORY --host NAME`: the iptables-restore payload and the ip
// rules, routes, sysctls and modules multilink would apply. The Ansible job is built from it.
export interface RenderedRule {
  priority: number;
  fwmark: string;
  table: number;
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
  sysctls: Array<{ key: string; value: string }>;
  modules: string[];
}

const KNOWN = ['iptables-restore --noflush payload', 'ip rules', 'ip routes', 'sysctls', 'modules'];

function sections(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const [i, line] of text.split('\n').entries()) {
    const header = i > 0 ? /^# (.+)$/.exec(line) : null;
    if (header && header[1] !== '(none)') {
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
  return {
    payload: payload.length > 0 ? `${payload.join('\n')}\n` : '',
    rules: get('ip rules').map((l) => {
      const m = need(/^ip rule add priority (\d+) fwmark (0x[0-9a-f]+\/0x[0-9a-f]+) lookup (\d+)$/.exec(l), l, 'ip rule');
      return { priority: Number(m[1]), fwmark: m[2], table: Number(m[3]) };
    }),
    routes: get('ip routes').map((l) => {
      const m = need(/^ip route replace default via ([\d.]+) dev ([A-Za-z0-9_.-]+) table (\d+)$/.exec(l), l, 'ip route');
      return { gateway: m[1], interface: m[2], table: Number(m[3]) };
    }),
    sysctls: get('sysctls').map((l) => {
      const m = need(/^sysctl -w ([A-Za-z0-9_./-]+)=(\S+)$/.exec(l), l, 'sysctl');
      return { key: m[1], value: m[2] };
    }),
    modules: get('modules').map((l) => need(/^modprobe ([A-Za-z0-9_-]+)$/.exec(l), l, 'modprobe')[1]),
  };
}
