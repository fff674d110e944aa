// Running a generated script on a host: one exec channel, the script on stdin.
import type { ConnectionVars } from '../model/config.js';
import type { Sh } from '../shell/sh.js';
import type { ExecResult, Session } from '../transport/transport.js';
import { wrapBecome } from '../transport/become.js';

/**
 * The script is wrapped in a function that is called on its last line: sh reads the whole
 * definition before running any of it, so a truncated upload runs nothing.
 */
export async function runScript(session: Session, connection: ConnectionVars, script: Sh, timeoutMs: number): Promise<ExecResult> {
  return session.exec(wrapBecome('sh -s', connection.become), { stdin: `ml_main() {\n${script.text}\n}\nml_main\n`, timeoutMs });
}
