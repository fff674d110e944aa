// multilink lab: answers "ok" on every TCP connection and closes it, for counting short
// connections. Usage: node tcp-server.mjs HOST PORT [LAB-TAG]; the tag only marks the
// command line so `lab down` stops exactly this lab's process.
import { createServer } from 'node:net';

const [host, port] = process.argv.slice(2);
const server = createServer((s) => {
  s.on('error', () => undefined);
  s.end('ok\n');
});
server.maxConnections = 4096;
server.listen({ host, port: Number(port), backlog: 1024 });
process.on('SIGTERM', () => process.exit(0));
