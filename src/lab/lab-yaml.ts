// YAML text of the lab's inventories and playbooks, written with the `yaml` library (never
// by string concatenation, so every value is quoted as YAML needs). Short lists, link and
// exception entries and host entries are written in flow style, one per line, as a person
// would write them.
import { Document, isMap, isScalar, isSeq, visit, type Node } from 'yaml';

export interface YamlOptions {
  /** Lines of the comment that opens the file. */
  comment?: readonly string[];
  /** Keys whose map values are written in flow style (e.g. each host under `hosts`). */
  flowMapsUnder?: readonly string[];
  /** Comment before an item of a sequence: key of the sequence, index → text. */
  itemComments?: Readonly<Record<string, Readonly<Record<number, string>>>>;
}

const flowable = (node: unknown): boolean => isScalar(node) || (isSeq(node) && node.items.every(isScalar));

export function yamlText(value: unknown, opts: YamlOptions = {}): string {
  const doc = new Document(value);
  const flowUnder = new Set(opts.flowMapsUnder ?? []);
  visit(doc, {
    Seq(_, seq) {
      // A list of plain values: [forwarded, local].
      if (seq.items.every(isScalar)) seq.flow = true;
      // A list of small maps (links, exceptions): one flow map per line.
      for (const item of seq.items) if (isMap(item) && item.items.every((p) => flowable(p.value))) item.flow = true;
    },
    Pair(_, pair) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (flowUnder.has(key) && isMap(pair.value)) {
        for (const p of pair.value.items) if (isMap(p.value) && p.value.items.every((q) => flowable(q.value))) p.value.flow = true;
      }
      const comments = opts.itemComments?.[key];
      if (comments && isSeq(pair.value)) {
        for (const [i, text] of Object.entries(comments)) {
          const item = pair.value.items[Number(i)] as Node | undefined;
          if (item) item.commentBefore = ` ${text}`;
        }
      }
    },
  });
  if (opts.comment?.length && doc.contents) doc.contents.commentBefore = opts.comment.map((l) => (l ? ` ${l}` : '')).join('\n');
  return doc.toString({ lineWidth: 0, flowCollectionPadding: true });
}
