// A hostile router for issue 24's fleet test: an SSH server (any key accepted) run inside a
// lab router's namespace. argv: ADDRESS PORT HOST_KEY MODE
//   flood: every command gets 64 MB of output and never a prompt, and never ends;
//   rule:  every command runs as a real router would (sh -c COMMAND in this namespace), but a
//          1 MB line of blanks is put in the `ip rule` section of its output.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';

const [address, port, keyFile, mode] = process.argv.slice(2);
const IP_RULE = '@@ML ip-rule\n';
const LONG_RULE = `1000:\t${' '.repeat(1024 * 1024)}from all lookup 100\n`;

function flood(ch) {
  const block = Buffer.from('flood line without a prompt\n'.repeat(2048));
  let left = Math.ceil((64 * 1024 * 1024) / block.length);
  const write = () => {
    while (left > 0) {
      left -= 1;
      if (!ch.write(block)) return void ch.once('drain', write);
    }
  };
  write();
}

function realWithLongRule(ch, command) {
  const child = spawn('sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'] });
  ch.pipe(child.stdin).on('error', () => undefined);
  child.stderr.pipe(ch.stderr);
  let carry = '';
  let injected = false;
  child.stdout.on('data', (chunk) => {
    if (injected) return void ch.write(chunk);
    carry += chunk.toString('utf8');
    const at = carry.indexOf(IP_RULE);
    if (at < 0) {
      ch.write(carry.slice(0, Math.max(0, carry.length - IP_RULE.length)));
      carry = carry.slice(Math.max(0, carry.length - IP_RULE.length));
      return;
    }
    injected = true;
    ch.write(carry.slice(0, at + IP_RULE.length) + LONG_RULE + carry.slice(at + IP_RULE.length));
  });
  child.on('close', (code) => {
    if (!injected) ch.write(carry);
    ch.exit(code ?? 1);
    ch.end();
  });
  ch.on('close', () => child.kill('SIGKILL'));
}

const server = new ssh2.Server({ hostKeys: [readFileSync(keyFile)] }, (client) => {
  client.on('error', () => undefined);
  client.on('authentication', (ctx) => ctx.accept());
  client.on('ready', () => {
    client.on('session', (accept) => {
      const session = accept();
      session.on('exec', (acceptExec, _reject, info) => {
        const ch = acceptExec();
        ch.on('error', () => undefined);
        if (mode === 'flood') {
          ch.resume();
          flood(ch);
        } else realWithLongRule(ch, info.command);
      });
    });
  });
});
server.listen(Number(port), address, () => console.log('listening'));
