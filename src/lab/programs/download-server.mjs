// multilink lab: a download of SIZE bytes on every connection, then the server closes it; for
// batches of fixed-size downloads. Exits after MAX_S. Usage:
// node download-server.mjs HOST PORT SIZE MAX_S [LAB-TAG]
import { createServer } from 'node:net';

const [host, portText, sizeText, maxText] = process.argv.slice(2);
const [port, size, maxS] = [portText, sizeText, maxText].map(Number);
const block = Buffer.alloc(64 * 1024, 120);
const server = createServer((s) => {
  s.on('error', () => undefined);
  let left = size;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, block.length);
      left -= n;
      if (!s.write(n === block.length ? block : block.subarray(0, n))) {
        s.once('drain', pump);
        return;
      }
    }
    s.end();
  };
  pump();
});
server.maxConnections = 4096;
server.listen({ host, port, backlog: 1024 });
setTimeout(() => process.exit(0), maxS * 1000).unref();
process.on('SIGTERM', () => process.exit(0));
