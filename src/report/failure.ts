// How a command line that failed before any host result reports it: diagnostics on stderr
// for people, and with --json (or status --format json) also one JSON document on stdout, so
// a CI job never parses an empty stdout.
import { CommanderError } from 'commander';
import { formatDiagnostic, type Diagnostic } from '../diagnostics.js';
import { EXIT_ERROR, InputError, UsageError } from '../errors.js';
import type { Output } from './view.js';

/** The options part of argv (before a lone `--`), without node and the script. */
function optionWords(argv: readonly string[]): string[] {
  const args = argv.slice(2);
  const end = args.indexOf('--');
  return end < 0 ? args : args.slice(0, end);
}

/** Whether the command line asked for a JSON document on stdout. */
export function jsonRequested(argv: readonly string[]): boolean {
  const words = optionWords(argv);
  return words.some((w, i) => w === '--json' || w === '--format=json' || (w === '--format' && words[i + 1] === 'json'));
}

/** The command as its --json documents name it (`deploy --check`), when argv names one. */
export function commandOf(argv: readonly string[]): string | undefined {
  const words = optionWords(argv);
  const name = words.find((w) => /^[a-z]+$/.test(w));
  if (name === undefined) return undefined;
  const check = (name === 'deploy' || name === 'remove') && words.some((w) => w === '--check' || w === '-C');
  return check ? `${name} --check` : name;
}

/**
 * The document for a run that ended before any host result: the command, no hosts, the
 * error in one line and every diagnostic. It has no `summary`: nothing was counted, and a
 * summary of zeros would read as "nothing failed".
 */
export function failureDocument(command: string | undefined, diagnostics: readonly Diagnostic[]): string {
  const first = diagnostics.find((d) => d.severity === 'error') ?? diagnostics[0];
  return JSON.stringify({ command: command ?? null, hosts: [], error: first?.summary ?? 'failed', diagnostics }, null, 2);
}

/** The diagnostics an error stands for. */
function diagnosticsOf(e: unknown): Diagnostic[] {
  if (e instanceof InputError) return e.diagnostics;
  if (e instanceof CommanderError) return [{ severity: 'error', summary: e.message.replace(/^error: /, '') }];
  if (e instanceof Error) return [{ severity: 'error', summary: e.message }];
  return [{ severity: 'error', summary: String(e) }];
}

/** The one top-level catch: prints the failure and returns the exit code. */
export function reportFailure(e: unknown, argv: readonly string[], output: Output): number {
  if (e instanceof CommanderError && e.exitCode === 0) return 0;
  if (e instanceof CommanderError) {
    // commander has printed its message (and the help) on stderr already.
  } else if (e instanceof InputError) {
    for (const d of e.diagnostics) output.err(formatDiagnostic(d));
    const n = e.diagnostics.filter((d) => d.severity === 'error').length;
    output.err(`${n} problem${n === 1 ? '' : 's'} in the input; no host was contacted`);
  } else if (e instanceof UsageError) {
    output.err(`error: ${e.message}`);
  } else {
    output.err(`error: ${(e as Error).stack ?? String(e)}`);
  }
  if (jsonRequested(argv)) output.out(failureDocument(commandOf(argv), diagnosticsOf(e)));
  return EXIT_ERROR;
}
