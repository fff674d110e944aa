// An Ansible configuration search that finds nothing of this machine's: no ANSIBLE_*
// variables, and a home and /etc/ansible that do not exist. Every test that runs the command
// line uses it (or its own temp folders), so no test reads the real ~/.ansible.cfg or /etc.
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { AnsibleWorld } from '../../src/load/ansible-cfg.js';

export function hermeticWorld(over: Partial<AnsibleWorld> = {}): AnsibleWorld {
  const nowhere = join(tmpdir(), 'multilink-test-no-such-folder');
  return { env: {}, cwd: process.cwd(), home: join(nowhere, 'home'), etcDir: join(nowhere, 'etc-ansible'), ...over };
}
