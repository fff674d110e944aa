// multilink lab: a byte stream on every connection, for survival checks; exits after MAX_S.
// push: CHUNK bytes every EVERY_MS ms until the client closes. echo: CHUNK bytes for every
// piece the client sends (the client leads, so after a pause its packet comes first). Usage:
// node stream-server.mjs HOST PORT MAX_S CHUNK EVERY_MS push|echo [LAB-TAG]
import { createServer } from 'node:net';

const [host, portText, maxText, chunkText, everyText, mode] = process.argv.slice(2);
const [port, maxS, chunk, everyMs] = [portText, maxText, chunkText, everyText].map(Number);
const block = Buffer.alloc(chunk, 120);
const server = createServer((s) => {
  s.on('error', () => undefined);
  if (mode === 'echo') {
    s.on('data', () => {
      if (!s.destroyed && s.writableLength < 16 * chunk) s.write(block);
    });
    return;
  }
  const t = setInterval(() => {
    if (!s.destroyed && s.writableLength < 16 * chunk) s.write(block);
  }, everyMs);
  s.on('close', () => clearInterval(t));
});
server.listen({ host, port, backlog: 256 });
setTimeout(() => process.exit(0), maxS * 1000).unref();
process.on('SIGTERM', () => process.exit(0));
