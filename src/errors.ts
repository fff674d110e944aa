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

/** Connection-level failure: the host could not be reached or authenticated. */
export class UnreachableError extends Error {
  constructor(
    readonly host: string,
    message: string,
  ) {
    super(`${host}: ${message}`);
    this.name = 'UnreachableError';
  }
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** The message of anything thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
