/**
 * `mybuild login [-u USER] [-p PASS | --password-stdin] [--insecure-registry HOST] [REGISTRY]`:
 * checks the credentials with the registry (Basic: `GET /v2/`; Bearer: a token request), then
 * saves them as `docker login` does (config.json `auths`, mode 0600, or the credential helper).
 * REGISTRY defaults to Docker Hub.
 *
 * When the username or password is not given and stdin is a terminal, it asks for them
 * (`Username: ` echoed, `Password: ` not echoed: raw mode, Backspace edits, Ctrl-C cancels).
 * Without a terminal it never prompts: a UsageError says which flags to use.
 */
import type tty from 'node:tty';
import { parseCommandArgs } from '../args.js';
import { BuildError, UsageError } from '../../errors.js';
import { DOCKER_HUB_DOMAIN } from '../../oci/reference.js';
import { normalizeRegistry } from '../../image/reference.js';
import { storeCredentials } from '../../registry/auth.js';
import { RegistryClient } from '../../registry/client.js';
import type { CommandMain } from '../context.js';
import { insecureList } from './pull.js';
import { HELP_FLAG, printHelp, type CommandHelp, type Flags } from '../help.js';

async function readAll(s: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const c of s as AsyncIterable<Buffer | string>) out += c.toString();
  return out;
}

/** True when `s` is a terminal we can switch to raw mode (for a password without echo). */
function isTerminal(s: NodeJS.ReadableStream): s is tty.ReadStream {
  const t = s as Partial<tty.ReadStream>;
  return t.isTTY === true && typeof t.setRawMode === 'function';
}

/**
 * Writes `question` to `out` and reads one line from the terminal `input`. `hidden`: raw mode,
 * nothing echoed, Backspace deletes, Ctrl-C throws BuildError CANCELED, Ctrl-D ends the line.
 * Restores the terminal mode and pauses `input` before it returns.
 */
export async function promptLine(input: tty.ReadStream, out: NodeJS.WritableStream, question: string, hidden: boolean): Promise<string> {
  const wasRaw = input.isRaw;
  // Echo goes off before the prompt shows, so nothing typed after it is ever echoed.
  if (hidden) input.setRawMode(true);
  out.write(question);
  try {
    return await new Promise<string>((resolve, reject) => {
      let line = '';
      const finish = (err?: Error): void => {
        input.off('data', onData);
        input.off('end', onEnd);
        input.pause();
        if (err) reject(err);
        else resolve(line);
      };
      const onEnd = (): void => finish(line ? undefined : new UsageError('login: no answer (end of input)'));
      const onData = (d: Buffer | string): void => {
        for (const ch of d.toString()) {
          if (ch === '\r' || ch === '\n') return finish();
          if (ch === '\x03') return finish(new BuildError('CANCELED', 'login canceled'));
          if (ch === '\x04') return line ? finish() : finish(new UsageError('login: no answer (end of input)'));
          if (ch === '\x7f' || ch === '\b') line = [...line].slice(0, -1).join('');
          else line += ch;
        }
      };
      input.on('data', onData);
      input.on('end', onEnd);
      input.resume();
    });
  } finally {
    if (hidden) {
      input.setRawMode(wasRaw);
      out.write('\n');
    }
  }
}

export const FLAGS = {
  'insecure-registry': { type: 'string', multiple: true, arg: 'host', description: 'Registry host to reach over plain HTTP or unverified TLS (repeatable; also MYBUILD_INSECURE_REGISTRIES)' },
  password: { type: 'string', short: 'p', description: 'Password or Personal Access Token (PAT)' },
  'password-stdin': { type: 'boolean', description: 'Take the Password or Personal Access Token (PAT) from stdin' },
  username: { type: 'string', short: 'u', description: 'Username' },
  help: HELP_FLAG,
} as const satisfies Flags;

export const HELP: CommandHelp = {
  name: 'mybuild login',
  usage: '[OPTIONS] [SERVER]',
  summary: 'Log in to a registry (Docker Hub by default)',
  flags: FLAGS,
};

export const main: CommandMain = async (args, ctx) => {
  const parsed = parseCommandArgs('login', {
      args,
      options: FLAGS,
      allowPositionals: true,
      strict: true,
    });
  const { values, positionals } = parsed;
  if (values.help) return printHelp(ctx, HELP);
  if (positionals.length > 1) throw new UsageError(`"mybuild login" takes at most 1 argument (the registry), got ${positionals.length}`);
  const domain = positionals.length ? normalizeRegistry(positionals[0]) : DOCKER_HUB_DOMAIN;
  if (values.password !== undefined && values['password-stdin']) throw new UsageError('--password and --password-stdin are mutually exclusive');
  let username = values.username;
  let password = values.password;
  if (values['password-stdin']) {
    if (!username) throw new UsageError('login: --password-stdin needs the username: -u USER', { hint: 'mybuild login -u USER --password-stdin REGISTRY < password-file' });
    password = (await readAll(ctx.stdin)).replace(/\r?\n$/, '');
    if (!password) throw new UsageError('login: --password-stdin read an empty password');
  } else if (password !== undefined) {
    ctx.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  }
  if (!username || !password) {
    const stdin = ctx.stdin;
    if (!isTerminal(stdin)) {
      throw new UsageError(`login needs a ${!username ? 'username' : 'password'}, and stdin is not a terminal to ask for it`, { hint: 'mybuild login -u USER --password-stdin REGISTRY < password-file' });
    }
    if (!username) username = (await promptLine(stdin, ctx.stdout, 'Username: ', false)).trim();
    if (!username) throw new UsageError('login: the username is empty');
    if (!password) password = await promptLine(stdin, ctx.stdout, 'Password: ', true);
    if (!password) throw new UsageError('login: the password is empty');
  }
  const client = new RegistryClient(domain, { credentials: { username, password }, insecureRegistries: insecureList(values['insecure-registry'], ctx), env: ctx.env });
  try {
    await client.checkLogin();
  } finally {
    client.close();
  }
  await storeCredentials(domain, { username, password }, ctx.env);
  ctx.stdout.write('Login Succeeded\n');
  return 0;
};
