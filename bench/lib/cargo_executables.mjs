// Reads `cargo build --message-format=json-render-diagnostics` on stdin (diagnostics pass through to stderr)
// and prints the executable path of the target named in argv[2].
import { createInterface } from 'node:readline';

const wanted = process.argv[2];
let found = '';
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.startsWith('{')) {
    process.stderr.write(`${line}\n`);
    continue;
  }
  const message = JSON.parse(line);
  if (message.reason === 'compiler-artifact' && message.target?.name === wanted && message.executable) {
    found = message.executable;
  }
}
if (!found) {
  process.stderr.write(`cargo built no executable named ${wanted}\n`);
  process.exit(1);
}
process.stdout.write(`${found}\n`);
