// A remote command that did not finish in time: its channel was closed, the session stays usable.

const MAX_SHOWN = 200;

export class ExecTimeoutError extends Error {
  constructor(
    readonly host: string,
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    const shown = command.length > MAX_SHOWN ? `${command.slice(0, MAX_SHOWN)}…` : command;
    super(`${host}: \`${shown}\` timed out after ${timeoutMs} ms`);
    this.name = 'ExecTimeoutError';
  }
}
