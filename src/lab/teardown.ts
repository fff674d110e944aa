// Removing a lab: exactly what its manifest lists, in an order that lets each step succeed
// (processes, then namespaces, then the host link, then files), and safe to run again after
// any failure. Synchronous on purpose: it also runs from a process 'exit' handler.
import { existsSync, readdirSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { listHostLinksSync, listNamespacesSync, pidsInNamespacesSync } from './host-net.js';
import { manifestPath, saveManifest, type LabInfo } from './manifest.js';
import { ipBatchSync, runSync } from './run.js';
import { isOurProcess, stopPidsSync } from './sshd.js';

export function teardownSync(info: LabInfo, log: (line: string) => void = () => undefined): void {
  const problems: string[] = [];

  // Only a process the lab can prove it started: same pid, start time and marker as recorded.
  const recorded = info.processes.filter(isOurProcess).map((p) => p.pid);
  if (recorded.length > 0) log(`stopping ${recorded.length} sshd process(es)`);
  stopPidsSync(recorded);

  // Whatever still runs inside a lab namespace was started through the lab (an SSH session,
  // a link monitor): it would keep the namespace and its links alive.
  const existing = listNamespacesSync();
  const ours = info.namespaces.map((n) => n.name).filter((n) => existing.has(n));
  const inside = [...pidsInNamespacesSync(ours).values()].flat();
  if (inside.length > 0) log(`stopping ${inside.length} process(es) left in lab namespaces: ${inside.join(' ')}`);
  stopPidsSync(inside);

  if (ours.length > 0) {
    log(`deleting ${ours.length} namespace(s)`);
    const r = ipBatchSync(ours.map((ns) => `netns del ${ns}`));
    const left = ours.filter((ns) => listNamespacesSync().has(ns));
    if (left.length > 0) problems.push(`could not delete namespace(s) ${left.join(', ')}: ${r.stderr.trim()}`);
  }

  // Deleting the switch namespace takes the veth pair with it, asynchronously: delete it now.
  const links = listHostLinksSync();
  for (const link of info.hostLinks.map((l) => l.name).filter((l) => links.has(l))) {
    const r = runSync('ip', ['link', 'del', link], { allowFailure: true });
    if (r.code !== 0 && listHostLinksSync().has(link)) problems.push(`could not delete link ${link}: ${r.stderr.trim()}`);
  }

  if (problems.length > 0) {
    saveManifest(info);
    throw new Error(`lab in ${info.dir} only partly removed (run lab down again):\n  ${problems.join('\n  ')}`);
  }

  for (const tree of info.trees) rmSync(tree, { recursive: true, force: true });
  for (const file of info.files) removeFile(file);
  for (const name of existsSync(info.dir) ? readdirSync(info.dir) : []) if (TEMP_NAME.test(name)) removeFile(join(info.dir, name));
  removeFile(manifestPath(info.dir));
  for (const dir of [...info.dirs].reverse()) removeEmptyDir(dir);
  log(`lab ${info.prefix} in ${info.dir} removed`);
}

/** replaceFile's temp files (lab-folder.ts), left by a crash between write and rename. */
const TEMP_NAME = /^\.[0-9a-f]{12}\.\d+\.tmp$/;

function removeFile(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function removeEmptyDir(dir: string): void {
  if (!existsSync(dir) || readdirSync(dir).length > 0) return;
  rmdirSync(dir);
}
