// Typed readers of what the transaction programs print (txn-begin.sh, txn-run.sh,
// txn-restore.sh, txn-control.sh). Deploy, rollback and weights decide outcomes from these
// values only.
import { fieldOf, parseReply, sectionOf, type Reply } from '../shell/reply.js';

/** A failed step of the apply (or of a restore): its description, exit code and stderr. */
export interface StepFailure {
  command: string;
  exitCode: number;
  stderr: string;
}

/** How a transaction ended once it is no longer armed: the restore's verdict. */
export type Settled = { kind: 'restored'; why: string } | { kind: 'restore-failed'; why: string; detail: string };

/** An earlier transaction whose processes had died, brought to its end by this one. */
export interface Recovered {
  id: string;
  /** What became of it: `restored WHY`, `restore-failed WHY` (then details), `confirmed generation N`, `abandoned before it was armed`. */
  text: string;
}

/** Execution 1 up to its prompt (besides the gather): refused, or what it found first. */
export interface BeginHead {
  locked?: string;
  recovered: Recovered[];
}

/** Execution 1 after the controller's answer. */
export type RunReply =
  /** Ended before it was armed: nothing it would change was changed. */
  | { kind: 'ended'; why: string }
  | {
      kind: 'ran';
      generation?: number;
      /** Every step ran. */
      applied: boolean;
      failure?: StepFailure;
      /** The immediate restore after a failed step, when this apply ran it (not the timer). */
      restore?: Settled;
    };

export type ControlReply =
  | { kind: 'confirmed'; generation: number }
  /** Armed, and no decision was taken (the dead-man timer still runs). */
  | { kind: 'armed' }
  /** Ended before it was armed (`why`: nothing, incomplete, abandoned…). */
  | { kind: 'ended'; why: string }
  /** The router has no folder for it. */
  | { kind: 'unknown' }
  /** A remove's confirmation took the state folder (txn-purge.sh): nothing of multilink's is left. */
  | { kind: 'purged' }
  /** Its processes died and another deploy holds the lock: that deploy brings it to its end. */
  | { kind: 'pending-other' }
  | Settled;

export function stepFailure(reply: Reply): StepFailure | undefined {
  const s = reply.sections.find((x) => x.name.startsWith('step-failed '));
  if (!s) return undefined;
  return { command: s.name.slice('step-failed '.length), exitCode: s.rc, stderr: s.body.trim() };
}

function settled(reply: Reply): Settled | undefined {
  const txn = fieldOf(reply, 'txn');
  const why = fieldOf(reply, 'why') ?? '';
  if (txn === 'restored') return { kind: 'restored', why };
  if (txn === 'restore-failed') return { kind: 'restore-failed', why, detail: sectionOf(reply, 'restore-detail')?.body.trim() ?? '' };
  return undefined;
}

export function parseBeginHead(before: string): BeginHead {
  const reply = parseReply(before);
  const locked = fieldOf(reply, 'locked');
  const recovered = reply.sections.filter((s) => s.name.startsWith('recovered ')).map((s) => ({ id: s.name.slice('recovered '.length), text: s.body.trim() }));
  return { ...(locked !== undefined ? { locked } : {}), recovered };
}

export function parseRunReply(after: string): RunReply {
  const reply = parseReply(after);
  const ended = fieldOf(reply, 'ended');
  if (ended !== undefined) return { kind: 'ended', why: ended };
  const gen = Number(fieldOf(reply, 'generation'));
  const failure = stepFailure(reply);
  const restore = settled(reply);
  return {
    kind: 'ran',
    ...(Number.isInteger(gen) && gen > 0 ? { generation: gen } : {}),
    applied: fieldOf(reply, 'applied') !== undefined,
    ...(failure ? { failure } : {}),
    ...(restore ? { restore } : {}),
  };
}

export function parseControlReply(stdout: string): ControlReply | undefined {
  const reply = parseReply(stdout);
  const txn = fieldOf(reply, 'txn');
  if (txn === 'confirmed') {
    const gen = Number(fieldOf(reply, 'generation'));
    return Number.isInteger(gen) && gen > 0 ? { kind: 'confirmed', generation: gen } : undefined;
  }
  if (txn === 'ended') return { kind: 'ended', why: fieldOf(reply, 'why') ?? '' };
  if (txn === 'armed' || txn === 'unknown' || txn === 'pending-other' || txn === 'purged') return { kind: txn };
  return settled(reply);
}
