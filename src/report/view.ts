// Where views print. Views (listr2 in a terminal, plain lines in a pipe, one JSON document
// with --json) implement FleetEvents (src/model/events.ts): the engine only emits events.

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export const processOutput: Output = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};
