/**
 * `mybuild login [-u USER] [-p PASS | --password-stdin] [--insecure-registry HOST] [REGISTRY]`:
 * checks the credentials with the registry (Basic: `GET /v2/`; Bearer: a token request), then
 * saves them as `docker login` does (config.json `auths`, mode 0600, or the credential helper).
 * REGISTRY defaults to Docker Hub.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../../errors.js';
import { DOCKER_HUB_DOMAIN, normalizeRegistry } from '../../image/reference.js';
import { storeCredentials } from '../../registry/auth.js';
import { RegistryClient } from '../../registry/client.js';
import type { CommandMain } from '../context.js';
import { insecureList } from './pull.js';

async function readAll(s: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const c of s as AsyncIterable<Buffer | string>) out += c.toString();
  return out;
}

export const main: CommandMain = async (args, ctx) => {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { username: { type: 'string', short: 'u' }, password: { type: 'string', short: 'p' }, 'password-stdin': { type: 'boolean' }, 'insecure-registry': { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UsageError(`login: ${(e as Error).message}`, { hint: 'usage: mybuild login -u USER --password-stdin [REGISTRY]' });
  }
  const { values, positionals } = parsed;
  if (values.help) {
    ctx.stdout.write('Usage: mybuild login [-u USER] [-p PASS | --password-stdin] [REGISTRY]\n\nLog in to a registry (Docker Hub by default)\n');
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`"mybuild login" takes at most 1 argument (the registry), got ${positionals.length}`);
  const domain = positionals.length ? normalizeRegistry(positionals[0]) : DOCKER_HUB_DOMAIN;
  if (values.password !== undefined && values['password-stdin']) throw new UsageError('--password and --password-stdin are mutually exclusive');
  if (values.username === undefined || values.username === '') throw new UsageError('login needs a username: -u USER', { hint: 'mybuild login -u USER --password-stdin REGISTRY < password-file' });
  let password = values.password;
  if (values['password-stdin']) password = (await readAll(ctx.stdin)).replace(/\r?\n$/, '');
  else if (password !== undefined) ctx.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  if (!password) throw new UsageError('login needs a password: --password-stdin or -p PASS');
  const client = new RegistryClient(domain, { credentials: { username: values.username, password }, insecureRegistries: insecureList(values['insecure-registry'], ctx), env: ctx.env });
  try {
    await client.checkLogin();
  } finally {
    client.close();
  }
  await storeCredentials(domain, { username: values.username, password }, ctx.env);
  ctx.stdout.write('Login Succeeded\n');
  return 0;
};
