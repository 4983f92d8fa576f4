// Makes the compiled CLI executable (tsc does not keep modes).
import { chmodSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
chmodSync(path.join(root, 'dist', 'src', 'cli.js'), 0o755);
