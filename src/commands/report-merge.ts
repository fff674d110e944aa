// `multilink report merge FILE...`: the --json documents of the shards of one fleet command
// (deploy, drift, status, weights, rollback run with --shard K/N) merged into one document
// of the same shape on stdout, exiting as that command would have for the whole fleet.
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { Output } from '../report/view.js';
import { mergeReports, mergeSummaryLine, type ReportInput } from '../report/merge.js';

function readInput(file: string): ReportInput {
  try {
    return { file, text: readFileSync(file, 'utf8') };
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

export function reportMergeCommand(files: string[], output: Output): number {
  const merged = mergeReports(files.map(readInput));
  output.out(JSON.stringify(merged.document, null, 2));
  output.err(mergeSummaryLine(merged, files.length));
  return merged.exitCode;
}
