// `remove` deletes a state folder's entries by name (src/remote/txn-purge.sh, ML_PURGE_NAMES):
// every path StateLayout gives must be one of STATE_ENTRIES, or a remove would leave it behind
// and take the folder for someone else's.
import { describe, expect, it } from 'vitest';
import { STATE_ENTRIES, StateLayout } from '../src/shell/layout.js';

describe('state folder entries', () => {
  it('every StateLayout path lies under an entry remove knows', () => {
    const layout = new StateLayout('/var/lib/multilink');
    const proto = Object.getOwnPropertyDescriptors(StateLayout.prototype);
    const paths = Object.entries(proto)
      .filter(([, d]) => typeof d.get === 'function')
      .map(([name]) => (layout as unknown as Record<string, string>)[name])
      .filter((p) => p !== layout.dir);
    expect(paths.length).toBeGreaterThan(10);
    for (const p of [...paths, layout.generation(3), layout.txnDir('0123456789abcdef')]) {
      const first = p.slice(layout.dir.length + 1).split('/')[0];
      expect(STATE_ENTRIES, p).toContain(first);
    }
  });
});
