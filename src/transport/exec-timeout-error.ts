// A remote command that did not finish in time, or printed more than the controller reads:
// its channel was closed, the session stays usable.

const MAX_SHOWN = 200;

export class ExecTimeoutError extends Error {
  constructor(
    readonly host: string,
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(`${host}: \`${shown(command)}\` timed out after ${timeoutMs} ms`);
    this.name = 'ExecTimeoutError';
  }
}

function shown(command: string): string {
  return command.length > MAX_SHOWN ? `${command.slice(0, MAX_SHOWN)}…` : command;
}

/** The router sent more output for one command than MAX_CHANNEL_BYTES: it is not read further. */
export class ChannelFloodError extends Error {
  constructor(
    readonly host: string,
    readonly command: string,
    readonly limitBytes: number,
  ) {
    super(`${host}: router sent more than ${limitBytes / 1024 / 1024} MB for \`${shown(command)}\`: stopped reading it`);
    this.name = 'ChannelFloodError';
  }
}
