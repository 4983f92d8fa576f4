// Compiles grammar/dockerfile.ne with nearleyc into src/parser/grammar.generated.ts.
// The generated file is never edited by hand and never committed.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const nearleyc = path.join(root, 'node_modules', 'nearley', 'bin', 'nearleyc.js');
execFileSync(process.execPath, [nearleyc, path.join(root, 'grammar', 'dockerfile.ne'),
  '-o', path.join(root, 'src', 'parser', 'grammar.generated.ts')], { stdio: 'inherit' });
