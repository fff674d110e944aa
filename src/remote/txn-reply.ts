// Typed readers of what the transaction programs print (txn-start.sh, txn-apply.sh,
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
export type Settled =
  | { kind: 'restored'; why: string }
  | { kind: 'restore-failed'; why: string; detail: string }
  /** The transaction was settled but left no verdict (its processes died, say). */
  | { kind: 'unsettled' };

export type StartReply =
  | { kind: 'locked'; holder: string }
  | { kind: 'stale-plan' }
  | {
      kind: 'started';
      generation?: number;
      /** The holder of a stale lock this transaction took over. */
      tookOver?: string;
      /** Every step ran. */
      applied: boolean;
      failure?: StepFailure;
      /** The immediate restore after a failed step, when this apply ran it (not the timer). */
      restore?: Settled;
    };

export type ControlReply =
  | { kind: 'confirmed'; generation: number }
  | { kind: 'armed' }
  | { kind: 'not-mine' }
  | { kind: 'no-generation' }
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
  if (txn === 'unsettled') return { kind: 'unsettled' };
  return undefined;
}

export function parseStartReply(stdout: string): StartReply {
  const reply = parseReply(stdout);
  const locked = fieldOf(reply, 'locked');
  if (locked !== undefined) return { kind: 'locked', holder: locked };
  if (fieldOf(reply, 'stale-plan') !== undefined) return { kind: 'stale-plan' };
  const gen = Number(fieldOf(reply, 'generation'));
  const tookOver = fieldOf(reply, 'stale-lock');
  const failure = stepFailure(reply);
  const restore = settled(reply);
  return {
    kind: 'started',
    ...(Number.isInteger(gen) && gen > 0 ? { generation: gen } : {}),
    ...(tookOver !== undefined ? { tookOver } : {}),
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
    return Number.isInteger(gen) && gen > 0 ? { kind: 'confirmed', generation: gen } : { kind: 'no-generation' };
  }
  if (txn === 'armed' || txn === 'not-mine' || txn === 'no-generation') return { kind: txn };
  return settled(reply);
}
