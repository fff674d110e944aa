import { defineConfig } from 'vitest/config';

// Two groups, run one after the other:
// - 'unit': files that need no namespace, no sshd and no wall-clock timing (pure stages, shell
//   run under dash/BusyBox against temp folders, shellcheck, ansible-inventory as oracle). They
//   run two at a time, one per core. A file is here only when listed: a new file is sequential
//   until someone decides otherwise.
// - 'lab': everything else. Lab tests build real namespaces and sshd servers, and some measure
//   time: they run one file at a time so two labs never compete for the two cores and every
//   run's names stay unique.
const PARALLEL_SAFE = [
  'adaptive-awk', 'apply-units', 'compile-balance', 'compile', 'deploy-engine', 'drift', 'exit-codes',
  'facts', 'fleet-output', 'hardening', 'hostile-output', 'inventory-bad', 'inventory-command', 'inventory-oracle',
  'interval-syntax', 'inventory-values', 'ipv6-pipeline', 'load-ansible-tags', 'load-bad', 'load-connection-vars',
  'load-hostile', 'load-inventory', 'load-project', 'load-template', 'load-vault', 'per-host-failure', 'template-oracle', 'monitor-record',
  'monitor', 'nft-table', 'py-number', 'plan', 'remove-cli', 'remove-plan', 'render-recorded', 'render', 'report-diff',
  'report-merge', 'shard', 'shell-scripts', 'shell-sh', 'state-entries', 'status-metrics', 'stock-openwrt-plan', 'status',
  'stored-desired', 'transport-become', 'transport-fake', 'transport-known-hosts',
  'transport-openssh-config', 'transport-ssh-config', 'txn-purge-shell', 'vault-cipher', 'vault-cli',
  'vault-logins', 'vault-secrets', 'weights-edit', 'weights-effective', 'weights-file', 'weights-target',
  'yaml-names-render', 'yaml11-scalars',
].map((name) => `test/${name}.test.ts`);

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: PARALLEL_SAFE, maxWorkers: 2, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'lab', include: ['test/**/*.test.ts'], exclude: PARALLEL_SAFE, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
