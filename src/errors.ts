// The few error types the tool throws, and the one mapping from errors to exit codes.
import { formatDiagnostic, type Diagnostic } from './diagnostics.js';

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_CHANGES = 2;

/** Bad input: refused before any host is contacted. */
export class InputError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'InputError';
  }
}

/** A remote command that failed: carries host, command, exit code and stderr (zx style). */
export class RemoteCommandError extends Error {
  constructor(
    readonly host: string,
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${host}: \`${command}\` exited ${exitCode ?? 'by signal'}${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
    this.name = 'RemoteCommandError';
  }

}

/**
 * Connection-level failure: the host could not be reached or authenticated. `reason` says
 * what was seen (refused, reset, timed out, closed before the banner), never a guessed cause.
 */
export class UnreachableError extends Error {
  constructor(
    readonly host: string,
    readonly reason: string,
  ) {
    super(`${host}: ${reason}`);
    this.name = 'UnreachableError';
  }
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * What went wrong on a host, for its entry in a report (which names the host already): the
 * host's own errors without their "host: " prefix, anything else as it is.
 */
export function hostReason(err: unknown): string {
  const message = errorMessage(err);
  const host = err instanceof Error && 'host' in err && typeof err.host === 'string' ? err.host : undefined;
  return host !== undefined && message.startsWith(`${host}: `) ? message.slice(host.length + 2) : message;
}

/** The message of anything thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
