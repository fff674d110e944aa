// become (ansible_become) for a non-root user: the caller wraps each command line in sudo -n,
// which fails at once instead of prompting for a password nobody can type.
import { quote } from '../shell/quote.js';

export function wrapBecome(command: string, become: boolean): string {
  return become ? `sudo -n -- sh -c ${quote(command)}` : command;
}
