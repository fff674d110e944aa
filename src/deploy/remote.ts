// Running a generated script on a host: one exec channel, the script on stdin; or one
// conversation (Session.converse), whose answer the script reads from the same stdin; as the
// become user when the host's vars say so (the session runs sudo, su or doas: become.ts).
import type { ConnectionVars } from '../model/config.js';
import type { Sh } from '../shell/sh.js';
import type { ConverseOptions, ConverseResult, ExecResult, Session } from '../transport/transport.js';
import { becomeSpec } from '../transport/become.js';

/**
 * The script is wrapped in a function that is called on its last line: sh reads the whole
 * definition before running any of it, so a truncated upload runs nothing.
 */
export async function runScript(session: Session, connection: ConnectionVars, script: Sh, timeoutMs: number): Promise<ExecResult> {
  const become = becomeSpec(connection);
  return session.exec('sh -s', { stdin: `ml_main() {\n${script.text}\n}\nml_main\n`, timeoutMs, ...(become ? { become } : {}) });
}

/** A conversation whose first part is `script`. */
export async function converseScript(
  session: Session,
  connection: ConnectionVars,
  script: Sh,
  options: Omit<ConverseOptions, 'stdin'>,
): Promise<ConverseResult> {
  // `exit` on the calling line: the shell must never read on into the answer as more script.
  const become = becomeSpec(connection);
  return session.converse('sh -s', { ...options, stdin: `ml_main() {\n${script.text}\n}\nml_main; exit $?\n`, ...(become ? { become } : {}) });
}
