// Executable inventories (NetBox's, the clouds'), read as Ansible's script plugin reads
// them: `SCRIPT --list` prints groups as JSON, host vars under _meta.hostvars, or else
// each host's vars from `SCRIPT --host NAME`. Each run is bounded in time; a script that
// fails, hangs or prints something else than that JSON is an error naming it.
import { spawnSync, type SpawnSyncOptions, type SpawnSyncReturns } from 'node:child_process';
import { resolve } from 'node:path';
import { Diagnostics } from '../diagnostics.js';
import type { SourcePos } from '../model/source.js';
import type { InventoryBuilder } from './inventory-builder.js';
import { kindOf } from './report.js';
import { readVarMap } from './var-table.js';
import { findEntry, parseYaml, type YMap, type YValue } from './yaml-source.js';

export const DEFAULT_SCRIPT_TIMEOUT_MS = 60_000;
/** What a script may print: an inventory of ten thousand hosts is a few MB. */
export const MAX_SCRIPT_OUTPUT = 16 * 1024 * 1024;
/** Set to 1 to give inventory scripts the ssh-agent socket (SSH_AUTH_SOCK). */
export const SCRIPT_AGENT_VAR = 'MULTILINK_INVENTORY_SSH_AGENT';

/**
 * A script's environment: this process's, without the ssh-agent socket, so a script (often
 * fed by a CMDB or a cloud API) cannot sign in anywhere as the operator, unless
 * MULTILINK_INVENTORY_SSH_AGENT=1 asks for it.
 */
export function scriptEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (env[SCRIPT_AGENT_VAR] === '1') return env;
  const { SSH_AUTH_SOCK: _agent, ...rest } = env;
  return rest;
}

export function readScriptInventory(file: string, b: InventoryBuilder, timeoutMs: number): void {
  const list = runScript(file, ['--list'], b, timeoutMs);
  if (list === undefined) return;
  if (list.kind !== 'map') {
    b.r.error(`inventory script ${file}: --list must print a JSON object of groups, got a ${kindOf(list)}`, list);
    return;
  }
  const listed = new Set<string>();
  let hostvars: YValue | undefined;
  for (const e of list.entries) {
    if (e.key === '_meta') {
      hostvars = e.value.kind === 'map' ? findEntry(e.value, 'hostvars')?.value : undefined;
      continue;
    }
    for (const h of readGroup(e.key, e.keyPos, e.value, b)) listed.add(h);
  }
  for (const host of listed) {
    const vars = hostvars !== undefined ? hostVarsFromMeta(hostvars, host) : runScript(file, ['--host', host], b, timeoutMs, true);
    if (vars === undefined) continue;
    for (const def of readVarMap(vars, `host ${host}`, b.r).values()) b.setHostVar(host, def);
  }
}

function hostVarsFromMeta(hostvars: YValue, host: string): YValue | undefined {
  if (hostvars.kind !== 'map') return hostvars; // readVarMap reports it
  return findEntry(hostvars, host)?.value;
}

/** The script's output as a located tree (positions within its output), or undefined when reported. */
function runScript(file: string, args: string[], b: InventoryBuilder, timeoutMs: number, emptyIsNothing = false): YValue | undefined {
  const command = [file, ...args].join(' ');
  const where = { pos: { file, line: 1, col: 1 } };
  // Its own process group (detached: Node honours it in spawnSync though its types omit it),
  // so a timeout ends whatever the script started too.
  const spawnOptions: SpawnSyncOptions & { detached: boolean } = {
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    detached: true,
    maxBuffer: MAX_SCRIPT_OUTPUT,
    env: scriptEnv(),
  };
  // By its path, never looked up in PATH: `inventory.sh` means the file here.
  const run = spawnSync(resolve(file), args, spawnOptions) as SpawnSyncReturns<Buffer>;
  const stderr = run.stderr?.toString('utf8').trim() ?? '';
  const tail = stderr ? `: ${stderr.split('\n').slice(-5).join(' | ')}` : '';
  const code = (run.error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ETIMEDOUT') {
    killGroup(run.pid);
    b.r.error(`inventory script \`${command}\` did not finish within ${timeoutMs / 1000} s`, where);
    return undefined;
  }
  if (code === 'ENOBUFS') {
    killGroup(run.pid);
    b.r.error(`inventory script \`${command}\` printed more than ${MAX_SCRIPT_OUTPUT / 1024 / 1024} MB: stopped reading it`, where);
    return undefined;
  }
  if (run.error) {
    b.r.error(`inventory script \`${command}\` could not run: ${run.error.message}`, where);
    return undefined;
  }
  if (run.status !== 0) {
    b.r.error(`inventory script \`${command}\` failed (${run.status === null ? `signal ${run.signal}` : `exit ${run.status}`})${tail}`, where);
    return undefined;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(run.stdout);
  } catch {
    b.r.error(`inventory script \`${command}\` printed text that is not UTF-8`, where);
    return undefined;
  }
  if (emptyIsNothing && text.trim() === '') return undefined;
  try {
    JSON.parse(text);
  } catch (e) {
    b.r.error(`inventory script \`${command}\` did not print JSON: ${(e as Error).message}${tail}`, where);
    return undefined;
  }
  // Positions in the output, so a bad value says where the script printed it.
  const diags = new Diagnostics();
  const tree = parseYaml(text, `${command} (output)`, diags);
  b.r.diags.push(...diags.items);
  return tree;
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** One group of the --list output; returns the hosts it names. */
function readGroup(name: string, pos: SourcePos, data: YValue, b: InventoryBuilder): string[] {
  b.group(name, pos);
  let body: YMap;
  if (data.kind !== 'map') body = { kind: 'map', pos: data.pos, entries: [{ key: 'hosts', keyPos: data.pos, value: data }] };
  else if (!data.entries.some((e) => ['hosts', 'vars', 'children'].includes(e.key))) {
    // {"h1": {"a": 1}} without hosts/vars/children: a host named like the group, with group vars.
    const hosts: YValue = { kind: 'seq', pos: data.pos, items: [{ kind: 'scalar', value: name, pos }] };
    body = { kind: 'map', pos: data.pos, entries: [{ key: 'hosts', keyPos: pos, value: hosts }, { key: 'vars', keyPos: pos, value: data }] };
  } else body = data;
  const hosts: string[] = [];
  for (const e of body.entries) {
    if (e.key === 'hosts') hosts.push(...readHostList(name, e.value, b));
    if (e.key === 'vars') for (const def of readVarMap(e.value, `group ${name}`, b.r).values()) b.setGroupVar(name, def);
    if (e.key === 'children') readChildList(name, e.value, b);
  }
  return hosts;
}

function readHostList(group: string, node: YValue, b: InventoryBuilder): string[] {
  if (node.kind !== 'seq') {
    b.r.error(`group '${group}': hosts must be a list of host names`, node);
    return [];
  }
  const out: string[] = [];
  for (const item of node.items) {
    if (item.kind !== 'scalar' || typeof item.value !== 'string' || item.value.trim() === '') {
      b.r.error(`group '${group}': a host name must be a non-empty string`, item);
      continue;
    }
    b.addHost(item.value, group, item.pos);
    out.push(item.value);
  }
  return out;
}

function readChildList(group: string, node: YValue, b: InventoryBuilder): void {
  const names = node.kind === 'seq' ? node.items : node.kind === 'map' ? node.entries.map((e): YValue => ({ kind: 'scalar', value: e.key, pos: e.keyPos })) : [node];
  for (const item of names) {
    if (item.kind !== 'scalar' || typeof item.value !== 'string' || item.value.trim() === '') {
      b.r.error(`group '${group}': children must be a list of group names`, item);
      continue;
    }
    b.addChild(group, item.value, item.pos);
  }
}
