// Running a generated script on a host: one exec channel, the script on stdin.
import type { ConnectionVars } from '../model/config.js';
import type { ExecResult, Session } from '../transport/transport.js';
import { wrapBecome } from '../transport/become.js';

export async function runScript(session: Session, connection: ConnectionVars, script: string, timeoutMs: number): Promise<ExecResult> {
  return session.exec(wrapBecome('sh -s', connection.become), { stdin: script, timeoutMs });
}
