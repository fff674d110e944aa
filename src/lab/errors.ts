// Errors of the lab: a refusal the operator can act on, and a failed local command
// that carries what was run, its exit code and stderr (zx style).

/** The lab cannot be built or removed here: not root, names in use, bad options. */
export class LabError extends Error {
  override name = 'LabError';
}

export class LabCommandError extends Error {
  override name = 'LabCommandError';
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`\`${command}\` exited ${exitCode ?? 'by signal'}${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
  }
}
