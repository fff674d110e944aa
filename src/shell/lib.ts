// The shared router-side snippets: lib.sh (environment, iptables flavour, step runners,
// replies, waits), and the TypeScript builders that call its functions, so every script
// that runs them says the same thing the same way.
import type { IptablesFlavourSetting } from '../model/config.js';
import { joinSh, scriptFile, sh, withHeredoc, type Sh } from './sh.js';

const LIB = new URL('./lib.sh', import.meta.url);

/** lib.sh with its parameter: what every router-side script starts with ('none': no iptables). */
export function shellLib(iptables: IptablesFlavourSetting | 'none'): Sh {
  return scriptFile(LIB, { ML_IPTABLES: iptables });
}

/** A gather-style section: a marker line, the command's output, its exit code. */
export function section(name: string, body: Sh): Sh {
  return sh`echo ${`@@ML ${name}`}
{ ${body}
}
# shellcheck disable=SC2320 # the status of the body, whatever its last command
echo "@@ML-rc $?"`;
}

/** `ml_step DESC COMMAND...`: runs the command; a failure is reported and ends the script. */
export function step(description: string, command: Sh): Sh {
  return sh`ml_step ${description} ${command}`;
}

/** Words ip's batch reader takes as they are: no quotes, backslashes, comments or blanks. */
const IP_BATCH_WORD = /^[A-Za-z0-9._:/@+%=-]+$/;

/** Whether `ip -4 WORDS...` can go through ipSteps. */
export function ipBatchable(words: readonly string[]): boolean {
  return words.length > 0 && words.every((w) => IP_BATCH_WORD.test(w));
}

/**
 * `ml_ip_steps`: `ip -4` commands (each its words after `ip -4`) as steps, in one process where
 * the router's ip reads -batch; a failure is reported as `step` reports it and ends the script.
 */
export function ipSteps(commands: readonly (readonly string[])[], family: 4 | 6 = 4): Sh {
  for (const c of commands) if (!ipBatchable(c)) throw new Error(`not a batchable ip command: ${c.join(' ')}`);
  const text = commands.map((c) => c.join(' ')).join('\n');
  return family === 6 ? sh`ml_ip_steps6 ${text}` : sh`ml_ip_steps ${text}`;
}

/** `ml_try DESC COMMAND...`: for restores: a failure is reported and the script goes on. */
export function tryStep(description: string, command: Sh): Sh {
  return sh`ml_try ${description} ${command}`;
}

/** Writes content to a file atomically (ml_write); the content goes through a quoted here-document. */
export function writeFile(path: string | Sh, content: string): Sh {
  return withHeredoc(sh`ml_write ${path}`, content);
}

/** A bounded wait: while the command succeeds, poll every 0.1 s, at most `tenths` times. */
export function waitWhile(tenths: number, command: Sh): Sh {
  return sh`ml_wait_while ${tenths} ${command}`;
}

/** Lines of script; false/undefined entries are left out. */
export function lines(...parts: (Sh | false | undefined | null)[]): Sh {
  return joinSh(parts);
}
