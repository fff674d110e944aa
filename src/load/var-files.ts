// group_vars/NAME.yaml and host_vars/NAME.yaml beside the inventory file, as Ansible reads them.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Reporter } from './report.js';
import type { VarTable } from './template.js';
import { mergeVars, readVarMap } from './var-table.js';
import { readYamlFile } from './yaml-source.js';

const EXTENSIONS = ['.yaml', '.yml'];

/**
 * Vars from `dir/kind/NAME.yaml|.yml` for each known name. Files naming no group or host
 * are ignored, as in Ansible: several inventories may share one folder.
 */
export function readVarFiles(
  dir: string,
  kind: 'group_vars' | 'host_vars',
  names: readonly string[],
  r: Reporter,
): Map<string, VarTable> {
  const folder = join(dir, kind);
  const out = new Map<string, VarTable>();
  if (!existsSync(folder)) return out;
  for (const name of names) {
    const tables = EXTENSIONS.map((ext) => join(folder, `${name}${ext}`))
      .filter((file) => existsSync(file))
      .map((file) => readVarFile(file, r));
    if (tables.length > 0) out.set(name, mergeVars(...tables));
  }
  return out;
}

function readVarFile(file: string, r: Reporter): VarTable {
  const node = readYamlFile(file, r.diags, { summary: 'vars file not found' });
  return node ? readVarMap(node, file, r) : new Map();
}
