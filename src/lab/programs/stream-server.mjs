// multilink lab: a paced byte stream on every connection, for survival checks: CHUNK bytes
// every EVERY_MS ms until the client closes; exits after MAX_S. Usage:
// node stream-server.mjs HOST PORT MAX_S CHUNK EVERY_MS [LAB-TAG]
import { createServer } from 'node:net';

const [host, port, maxS, chunk, everyMs] = process.argv.slice(2).map((v, i) => (i === 0 ? v : Number(v)));
const block = Buffer.alloc(chunk, 120);
const server = createServer((s) => {
  s.on('error', () => undefined);
  const t = setInterval(() => {
    if (!s.destroyed && s.writableLength < 16 * chunk) s.write(block);
  }, everyMs);
  s.on('close', () => clearInterval(t));
});
server.listen({ host, port, backlog: 256 });
setTimeout(() => process.exit(0), maxS * 1000).unref();
process.on('SIGTERM', () => process.exit(0));
