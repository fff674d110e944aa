// The ownership record's two files in the state folder: owned.json for the controller,
// owned.list for the gather script (sh reads lines, not JSON).
import type { OwnedRecord } from '../model/facts.js';
import { ownedListText } from '../facts/owned.js';
import { StateLayout } from '../shell/layout.js';
import { writeFile } from '../shell/lib.js';
import type { Sh } from '../shell/sh.js';

/** The commands writing both files, each atomically; wrap each in a step runner. */
export function ownedFileWrites(stateDir: string, record: OwnedRecord): { description: string; command: Sh }[] {
  const s = new StateLayout(stateDir);
  return [
    { description: `write ${s.owned}`, command: writeFile(s.owned, JSON.stringify(record)) },
    { description: `write ${s.ownedList}`, command: writeFile(s.ownedList, ownedListText(record).trimEnd()) },
  ];
}
