import { defineConfig } from 'vitest/config';

// Three groups, run one after the other:
// - 'unit': files that need no namespace, no sshd and no wall-clock timing (pure stages, shell
//   run under dash/BusyBox against temp folders, shellcheck, ansible-inventory as oracle). They
//   run two at a time, one per core. A file is here only when listed: a new file is sequential
//   until someone decides otherwise.
// - 'lab-pairs': lab files (namespaces, sshd) that assert no time bound: deploys, drift,
//   removal, rendering, sharding; each lab has its own prefix, folder and management subnet
//   (test/helpers/lab.ts), so two run at a time.
// - 'lab': everything else, one file at a time: the labs that measure failover, probes,
//   timeouts and throughput get both cores to themselves.
const PARALLEL_SAFE = [
  'adaptive-awk', 'apply-units', 'compile-balance', 'compile', 'deploy-engine', 'drift', 'exit-codes',
  'facts', 'fleet-output', 'hardening', 'hostile-output', 'inventory-bad', 'inventory-command', 'inventory-oracle',
  'interval-syntax', 'inventory-values', 'ipv6-pipeline', 'load-ansible-tags', 'load-bad', 'load-connection-vars',
  'load-hostile', 'load-inventory', 'load-project', 'load-template', 'load-vault', 'per-host-failure', 'template-oracle', 'monitor-record',
  'monitor', 'nft-table', 'py-number', 'plan', 'remove-cli', 'remove-plan', 'render-recorded', 'render', 'report-diff',
  'report-merge', 'shard', 'shell-scripts', 'shell-scripts-2', 'shell-sh', 'state-entries', 'status-metrics', 'stock-openwrt-plan', 'status',
  'stored-desired', 'transport-become', 'transport-fake', 'transport-known-hosts',
  'transport-openssh-config', 'transport-ssh-config', 'txn-purge-shell', 'vault-cipher', 'vault-cli',
  'vault-logins', 'vault-secrets', 'weights-edit', 'weights-effective', 'weights-file', 'weights-target',
  'yaml-names-render', 'yaml11-scalars',
].map((name) => `test/${name}.test.ts`);

const LAB_PAIRS = [
  'deploy-lab', 'render-lab', 'shard-lab', 'weights-lab', 'remove-lab', 'lab-files', 'lab-folder', 'issue9-inbound',
  'issue9-lan-services', 'apply-netns', 'reset-netns', 'shell-lib-netns', 'power-cut-lab', 'ansible-habits',
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
        test: { name: 'lab-pairs', include: LAB_PAIRS, maxWorkers: 2, sequence: { groupOrder: 1 } },
      },
      {
        extends: true,
        test: { name: 'lab', include: ['test/**/*.test.ts'], exclude: [...PARALLEL_SAFE, ...LAB_PAIRS], fileParallelism: false, sequence: { groupOrder: 2 } },
      },
    ],
  },
});
