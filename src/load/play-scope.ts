// What resolving one play for one host (or for no host) needs at hand.
import type { Reporter } from './report.js';
import type { TemplateRenderer } from './template.js';
import { findEntry, type YMap, type YValue } from './yaml-source.js';

export interface PlayScope {
  r: Reporter;
  t: TemplateRenderer;
}

/** A field of a mapping with its templates substituted; undefined if absent or unknown. */
export function field(scope: PlayScope, map: YMap | undefined, key: string): YValue | undefined {
  return render(scope, map ? findEntry(map, key)?.value : undefined);
}

export function has(map: YMap | undefined, key: string): boolean {
  return map !== undefined && findEntry(map, key) !== undefined;
}

export function render(scope: PlayScope, node: YValue | undefined): YValue | undefined {
  return node ? scope.t.render(node) : undefined;
}
