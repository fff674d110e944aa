// The built multilink (dist/), loaded at run time: its router-side .sh files are beside it, as
// when users run it; the benchmark's own compiled copy of src/ (bench/.build) has none.
const DIST = new URL('../../../../dist/', import.meta.url);

type Cli = typeof import('../../src/cli.js');
type Ssh2 = typeof import('../../src/transport/ssh2-transport.js');
type Gather = typeof import('../../src/facts/gather.js');

async function load<T>(path: string): Promise<T> {
  return (await import(new URL(path, DIST).href)) as T;
}

export const distCli = (): Promise<Cli> => load<Cli>('cli.js');
export const distSsh2 = (): Promise<Ssh2> => load<Ssh2>('transport/ssh2-transport.js');
export const distGather = (): Promise<Gather> => load<Gather>('facts/gather.js');
