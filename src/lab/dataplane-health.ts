// The link monitor as the data-plane lab sees it: a playbook with `health` (and tiers), and
// r1's monitor state file, read with the same parser the tool's gather uses.
import { readFileSync } from 'node:fs';
import { parseMonitorState } from '../facts/monitor.js';
import { RunLayout } from '../shell/layout.js';
import { labRunDir } from './lab-files.js';
import { renderDataplanePlaybook, type DataplanePlaybookInput, type HealthSettings } from './lab-playbooks.js';
import type { LabInfo } from './manifest.js';

export type { HealthSettings };

export interface HealthPlaybookInput extends DataplanePlaybookInput {
  health: HealthSettings;
}

/** The data-plane playbook plus `health`, and `tier` on links above tier 1. */
export function renderHealthPlaybook(input: HealthPlaybookInput): string {
  return renderDataplanePlaybook(input);
}

export interface MonitorState {
  mask: number;
  links: Record<string, 'up' | 'down'>;
}

/** The text of r1's monitor state file (RUN/state) → mask and each link's state; undefined without a mask. */
export function monitorStateFromText(text: string): MonitorState | undefined {
  const state = parseMonitorState(text);
  if (state.mask === undefined) return undefined;
  return { mask: state.mask, links: Object.fromEntries(state.links.map((l) => [l.link, l.state])) };
}

/** r1's monitor state file (a router on this machine's file system), or undefined while there is none. */
export function monitorState(lab: LabInfo): MonitorState | undefined {
  try {
    return monitorStateFromText(readFileSync(new RunLayout(labRunDir(lab.routers[0])).monitorState, 'utf8'));
  } catch {
    return undefined;
  }
}
