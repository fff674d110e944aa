// group_vars/NAME and host_vars/NAME beside the inventory, found as Ansible's host_group_vars
// plugin finds them: the first of NAME, NAME.yml, NAME.yaml, NAME.json that exists; when it
// is a folder, every file in it and its subfolders in lexical order (hidden files, backups
// ending in ~ and other extensions skipped), later files winning.
import { readdirSync, statSync, type Stats } from 'node:fs';
import { extname, join } from 'node:path';
import type { Reporter } from './report.js';
import type { VarTable } from './template.js';
import type { VaultKeyring } from './vault.js';
import { mergeVars, readVarMap } from './var-table.js';
import { readYamlFile } from './yaml-source.js';

const EXTENSIONS = ['.yml', '.yaml', '.json'];

function stat(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Vars from `dir/kind/` for each known name. Files naming no group or host are ignored,
 * as in Ansible: several inventories may share one folder. A file encrypted as a whole is
 * decrypted with `vault`'s passwords.
 */
export function readVarFiles(dir: string, kind: 'group_vars' | 'host_vars', names: readonly string[], r: Reporter, vault: VaultKeyring): Map<string, VarTable> {
  const folder = join(dir, kind);
  const out = new Map<string, VarTable>();
  const st = stat(folder);
  if (!st) return out;
  if (!st.isDirectory()) {
    r.diags.warning(`${folder} is not a folder: ignored`);
    return out;
  }
  for (const name of names) {
    if (name.startsWith('/')) continue;
    const files = varFilesOf(folder, name);
    if (files.length > 0) out.set(name, mergeVars(...files.map((f) => readVarFile(f, r, vault))));
  }
  return out;
}

/** The files Ansible reads for one group or host, in the order it merges them. */
export function varFilesOf(folder: string, name: string): string[] {
  for (const ext of ['', ...EXTENSIONS]) {
    const path = join(folder, `${name}${ext}`);
    const st = stat(path);
    if (!st) continue;
    return st.isDirectory() ? filesIn(path) : [path];
  }
  return [];
}

function filesIn(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    if (entry.startsWith('.') || entry.endsWith('~')) continue;
    const path = join(dir, entry);
    const ext = extname(entry);
    const st = stat(path);
    if (st?.isDirectory() && !ext) found.push(...filesIn(path));
    else if (st?.isFile() && (!ext || EXTENSIONS.includes(ext))) found.push(path);
  }
  return found;
}

function readVarFile(file: string, r: Reporter, vault: VaultKeyring): VarTable {
  const node = readYamlFile(file, r.diags, { summary: 'vars file not found' }, vault);
  return node ? readVarMap(node, file, r) : new Map();
}
