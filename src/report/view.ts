// Where views print. Views (listr2 in a terminal, plain lines in a pipe, one JSON document
// with --json) implement FleetEvents (src/model/events.ts): the engine only emits events.

import { plainText } from '../util/terminal-text.js';

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** Lines for the operator: router output quoted in them cannot drive the terminal (terminal-text.ts). */
export const processOutput: Output = {
  out: (text) => process.stdout.write(line(text)),
  err: (text) => process.stderr.write(line(text)),
};

function line(text: string): string {
  const plain = plainText(text);
  return plain.endsWith('\n') ? plain : `${plain}\n`;
}
