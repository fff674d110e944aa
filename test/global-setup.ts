// Once per test run: as root on a machine without the lab's Debian packages (data plane
// included) or the tools the tests check with (shellcheck and dash for the router-side shell,
// ansible-core as the reference for inventories and Vault, nftables for the nft backend),
// install them as `multilink lab up` does, so the README's test line runs the whole suite on a
// fresh machine. Without root, the tests that need them skip themselves and print why.
import { ensureLabPackages, missingLabPackages } from '../src/lab/lab.js';
import { DATAPLANE_COMMANDS, IPV6_COMMANDS } from '../src/lab/dataplane-plan.js';
import { OPENWRT_COMMANDS } from '../src/lab/openwrt.js';
import { LOGIN_COMMANDS } from './helpers/login-servers.js';

/** The tests' own tools → Debian package. */
const TEST_COMMANDS: Readonly<Record<string, string>> = {
  shellcheck: 'shellcheck',
  dash: 'dash',
  'ansible-inventory': 'ansible-core',
  'ansible-vault': 'ansible-core',
  nft: 'nftables',
};

export default async function setup(): Promise<void> {
  const extra = { ...DATAPLANE_COMMANDS, ...IPV6_COMMANDS, ...OPENWRT_COMMANDS, ...LOGIN_COMMANDS, ...TEST_COMMANDS };
  const missing = missingLabPackages(extra);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.warn(`lab packages missing (${missing.join(', ')}) and not root: lab tests will be skipped`);
    return;
  }
  await ensureLabPackages((line) => console.log(`test setup: ${line}`), extra);
}
