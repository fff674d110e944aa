// What router-side scripts print back, read as values: `@@ML-R KEY VALUE` field lines and
// sections (`@@ML NAME`, the body, `@@ML-rc CODE`). Each script has a typed reader on top
// of this one; outcomes are never decided from wording meant for people.

export const SECTION = '@@ML ';
export const RC = '@@ML-rc ';
export const FIELD = '@@ML-R ';
/** What ml_read prints for a file that cannot be read. */
export const ABSENT = '@@ML-absent';

export interface Section {
  name: string;
  body: string;
  rc: number;
}

export interface Reply {
  fields: { key: string; value: string }[];
  sections: Section[];
}

export function parseReply(stdout: string): Reply {
  const reply: Reply = { fields: [], sections: [] };
  let current: { name: string; lines: string[] } | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith(SECTION)) {
      current = { name: line.slice(SECTION.length), lines: [] };
    } else if (line.startsWith(RC) && current) {
      reply.sections.push({ name: current.name, body: current.lines.join('\n'), rc: Number(line.slice(RC.length)) });
      current = undefined;
    } else if (current) {
      current.lines.push(line);
    } else if (line.startsWith(FIELD)) {
      const rest = line.slice(FIELD.length);
      const space = rest.indexOf(' ');
      reply.fields.push(space < 0 ? { key: rest, value: '' } : { key: rest.slice(0, space), value: rest.slice(space + 1) });
    }
  }
  return reply;
}

/** The last value of a field, or undefined. */
export function fieldOf(reply: Reply, key: string): string | undefined {
  for (let i = reply.fields.length - 1; i >= 0; i--) if (reply.fields[i].key === key) return reply.fields[i].value;
  return undefined;
}

export function sectionOf(reply: Reply, name: string): Section | undefined {
  return reply.sections.find((s) => s.name === name);
}
