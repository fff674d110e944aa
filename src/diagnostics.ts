// Problems found in the input or the plan. Validators push these instead of throwing,
// so an operator sees every problem at once.
import { formatPos, type SourcePos } from './model/source.js';

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  severity: Severity;
  /** One line: what is wrong and what was expected. */
  summary: string;
  detail?: string;
  pos?: SourcePos;
  host?: string;
  link?: string;
  /** `clash`: an object multilink does not own stands in its way (the plan lists it as a clash). */
  kind?: 'clash';
}

export class Diagnostics {
  readonly items: Diagnostic[] = [];

  error(summary: string, where: Omit<Diagnostic, 'severity' | 'summary'> = {}): void {
    this.items.push({ severity: 'error', summary, ...where });
  }

  warning(summary: string, where: Omit<Diagnostic, 'severity' | 'summary'> = {}): void {
    this.items.push({ severity: 'warning', summary, ...where });
  }

  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === 'error');
  }

  push(...more: Diagnostic[]): void {
    this.items.push(...more);
  }
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.pos ? `${formatPos(d.pos)}: ` : '';
  const who = [d.host ? `host ${d.host}` : '', d.link ? `link ${d.link}` : ''].filter(Boolean).join(', ');
  const tail = d.detail ? `\n  ${d.detail}` : '';
  return `${where}${d.severity}: ${d.summary}${who ? ` [${who}]` : ''}${tail}`;
}
