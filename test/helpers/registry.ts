/**
 * Test helpers for the registry tests:
 *
 * - `startRegistry(mode)`: the real `docker-registry serve` (distribution 2.8) on 127.0.0.1 and
 *   a free port, storage in a temp dir, in one of three modes: `anonymous`, `basic` (htpasswd,
 *   bcrypt via `htpasswd -Bbn`) or `token` (Bearer tokens from a small issuer started here: a
 *   Node server on 127.0.0.1 that signs RS256 JWTs with a key and self-signed certificate made
 *   with openssl; the JWT header carries the certificate as `x5c`, which distribution verifies
 *   against `rootcertbundle` (registry/auth/token/token.go, parseAndVerifyCertChain)).
 * - `startRegistry(mode, { tls: true | 'mutual' })`: the same registry serving https
 *   (`http.tls.certificate/key`; with `'mutual'` also `http.tls.clientcas`, so it demands a
 *   client certificate signed by the test CA). `makeTestCA(dir)` makes the CA, a server
 *   certificate for 127.0.0.1/localhost and a client certificate with openssl (EC P-256).
 * - `startFaultProxy(target)`: an HTTP proxy on 127.0.0.1 in front of a registry that counts
 *   requests and injects faults (connection resets, statuses, Retry-After, truncated or
 *   corrupted bodies, a connection dropped in the middle of a request body).
 * - `makeStore(dir)`: the project's LocalContentStore on a directory.
 * - `makeImage(store, …)`: a small image (tar layers + config + manifest) written into a store.
 *
 * `registryMissing` is a skip reason when docker-registry / htpasswd / openssl are absent.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, sign } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { LocalContentStore } from '../../src/store/content-store.js';
import { writeTarLayer } from '../../src/image/layer-writer.js';
import { writeImage } from '../../src/image/manifest.js';
import type { Descriptor, Digest, ImageConfig } from '../../src/oci/types.js';
import type { ContentStore } from '../../src/oci/content-store.js';

const execFileP = promisify(execFile);

function which(cmd: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(path.join(d, cmd)));
}

/** A skip reason when the tools the registry tests need are missing, else false. */
export const registryMissing: string | false = (() => {
  for (const t of ['docker-registry', 'htpasswd', 'openssl']) {
    if (!which(t)) return `${t} is not installed (scripts/install-system-deps.sh installs it)`;
  }
  return false;
})();
/** A skip reason when skopeo is missing, else false. */
export const skopeoMissing: string | false = which('skopeo') ? false : 'skopeo is not installed (scripts/install-system-deps.sh installs it)';

/** A free TCP port on 127.0.0.1 (listen on 0, read the port, close). */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export type RegistryMode = 'anonymous' | 'basic' | 'token';

/** Files of the test CA (see makeTestCA). */
export interface TestCA {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/**
 * A CA, a server certificate (subjectAltName IP:127.0.0.1, DNS:localhost; serverAuth) and a
 * client certificate (clientAuth), all signed by the CA, made with openssl in `dir`.
 */
export async function makeTestCA(dir: string): Promise<TestCA> {
  const f = (n: string): string => path.join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await execFileP('openssl', ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=mybuild-test-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  for (const [name, ext] of [
    ['server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'],
    ['client', 'extendedKeyUsage=clientAuth\n'],
  ] as const) {
    await execFileP('openssl', ['req', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=mybuild-test-${name}`]);
    await writeFile(f(`${name}.ext`), ext);
    await execFileP('openssl', ['x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${name}.crt`), '-days', '2', '-extfile', f(`${name}.ext`)]);
  }
  return { dir, caCert: f('ca.crt'), caKey: f('ca.key'), serverCert: f('server.crt'), serverKey: f('server.key'), clientCert: f('client.crt'), clientKey: f('client.key') };
}

/**
 * A Docker-style certs.d folder under `dir` for `domain`: `<dir>/<domain>/ca.crt` and, with
 * `client`, `client.cert` + `client.key`. Returns `dir` (use as certsDir / MYBUILD_CERTS_DIR).
 */
export async function makeCertsDir(dir: string, domain: string, ca: TestCA, opts: { ca?: boolean; client?: boolean } = {}): Promise<string> {
  const d = path.join(dir, domain);
  await mkdir(d, { recursive: true });
  if (opts.ca ?? true) await copyFile(ca.caCert, path.join(d, 'ca.crt'));
  if (opts.client) {
    await copyFile(ca.clientCert, path.join(d, 'client.cert'));
    await copyFile(ca.clientKey, path.join(d, 'client.key'));
  }
  return dir;
}

export interface TestRegistry {
  /** `127.0.0.1:PORT` */
  domain: string;
  /** With `tls`: the CA and certificates the registry uses. */
  ca?: TestCA;
  port: number;
  mode: RegistryMode;
  /** Users accepted (basic/token modes): user → password. */
  users: Record<string, string>;
  /** Token mode: the issuer (counts token requests). */
  issuer?: TokenIssuer;
  dir: string;
  stop(): Promise<void>;
}

export interface TokenIssuer {
  url: string;
  /** Requests answered so far (each: query scopes, account, whether credentials were sent). */
  requests: { scopes: string[]; user?: string; grant?: string }[];
  /** Seconds the next tokens are valid (expires_in). */
  expiresIn: number;
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

async function startTokenIssuer(dir: string, service: string, issuerName: string, users: Record<string, string>): Promise<TokenIssuer & { certPath: string }> {
  const keyPath = path.join(dir, 'token.key');
  const certPath = path.join(dir, 'token.crt');
  await execFileP('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=mybuild-test-token-issuer']);
  const key = await readFile(keyPath, 'utf8');
  const certPem = await readFile(certPath, 'utf8');
  const certDer = Buffer.from(certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const issuer: TokenIssuer & { certPath: string; server?: http.Server } = { url: '', requests: [], expiresIn: 300, certPath, stop: async () => undefined };
  const makeToken = (user: string | undefined, scopes: string[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.flatMap((s) => {
      const [type, ...rest] = s.split(':');
      const actions = rest.pop() ?? '';
      const name = rest.join(':');
      // Anonymous users may only pull; known users may pull and push.
      const allowed = actions.split(',').filter((a) => (user ? ['pull', 'push', '*'] : ['pull']).includes(a));
      return type && name ? [{ type, name, actions: allowed }] : [];
    });
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] };
    const claims = { iss: issuerName, sub: user ?? '', aud: service, exp: now + issuer.expiresIn, nbf: now - 5, iat: now, jti: randomBytes(8).toString('hex'), access };
    const data = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    return `${data}.${b64url(sign('sha256', Buffer.from(data), key))}`;
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      let scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
      let user: string | undefined;
      let grant: string | undefined;
      const deny = (): void => {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'incorrect username or password' }] }));
      };
      if (req.method === 'POST') {
        const form = new URLSearchParams(Buffer.concat(chunks).toString());
        grant = form.get('grant_type') ?? undefined;
        scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        const rt = form.get('refresh_token') ?? '';
        const m = /^refresh-(.+)$/.exec(rt);
        if (grant !== 'refresh_token' || !m || !(m[1] in users)) return deny();
        user = m[1];
      } else {
        const auth = req.headers.authorization;
        if (auth) {
          const dec = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString();
          const i = dec.indexOf(':');
          const u = dec.slice(0, i);
          if (!auth.startsWith('Basic ') || i < 0 || users[u] !== dec.slice(i + 1)) return deny();
          user = u;
        }
      }
      issuer.requests.push({ scopes, user, grant });
      res.writeHead(200, { 'content-type': 'application/json' });
      const token = makeToken(user, scopes);
      res.end(JSON.stringify({ token, access_token: token, expires_in: issuer.expiresIn, issued_at: new Date().toISOString() }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/token`;
  issuer.stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  server.unref();
  return issuer;
}

/** Starts the real registry (see the module comment). Call `stop()` in an `after` hook. */
export async function startRegistry(mode: RegistryMode = 'anonymous', opts: { tls?: boolean | 'mutual' } = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mybuild-registry-'));
  let ca: TestCA | undefined;
  let tlsYaml = '';
  if (opts.tls) {
    await mkdir(path.join(dir, 'ca'));
    ca = await makeTestCA(path.join(dir, 'ca'));
    tlsYaml = `  tls:\n    certificate: ${ca.serverCert}\n    key: ${ca.serverKey}\n${opts.tls === 'mutual' ? `    clientcas:\n      - ${ca.caCert}\n` : ''}`;
  }
  const port = await freePort();
  const users: Record<string, string> = mode === 'anonymous' ? {} : { alice: 'wonderland', bob: 's3cret' };
  let authYaml = '';
  let issuer: (TokenIssuer & { certPath: string }) | undefined;
  if (mode === 'basic') {
    const lines: string[] = [];
    for (const [u, p] of Object.entries(users)) lines.push((await execFileP('htpasswd', ['-Bbn', u, p])).stdout.trim());
    await writeFile(path.join(dir, 'htpasswd'), `${lines.join('\n')}\n`);
    authYaml = `auth:\n  htpasswd:\n    realm: mybuild-test\n    path: ${path.join(dir, 'htpasswd')}\n`;
  } else if (mode === 'token') {
    issuer = await startTokenIssuer(dir, 'mybuild-test-registry', 'mybuild-test-issuer', users);
    authYaml = `auth:\n  token:\n    realm: ${issuer.url}\n    service: mybuild-test-registry\n    issuer: mybuild-test-issuer\n    rootcertbundle: ${issuer.certPath}\n`;
  }
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${path.join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: mybuild-test-secret',
    tlsYaml,
    authYaml,
  ].join('\n');
  const cfgPath = path.join(dir, 'config.yml');
  await writeFile(cfgPath, config);
  const child: ChildProcess = spawn('docker-registry', ['serve', cfgPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  // Wait until /v2/ answers.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}): ${stderr}`);
    const ok = await new Promise<boolean>((resolve) => {
      const target = { host: '127.0.0.1', port, path: '/v2/' };
      const onRes = (res: http.IncomingMessage): void => {
        res.resume();
        resolve(res.statusCode === 200 || res.statusCode === 401);
      };
      if (ca) {
        const req = https.get({ ...target, ca: readFileSync(ca.caCert), cert: readFileSync(ca.clientCert), key: readFileSync(ca.clientKey) }, onRes);
        req.on('error', () => resolve(false));
        return;
      }
      const req = http.get(target, (res) => {
        res.resume();
        resolve(res.statusCode === 200 || res.statusCode === 401);
      });
      req.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`docker-registry did not start on 127.0.0.1:${port}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    domain: `127.0.0.1:${port}`,
    ca,
    port,
    mode,
    users,
    issuer,
    dir,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      await issuer?.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One fault the proxy injects into the next `times` requests that match. */
export interface Fault {
  match: (req: { method: string; url: string; range?: string }) => boolean;
  /**
   * `reset`: destroy the client connection before forwarding; `status`: answer `status` (with
   * `retryAfter` seconds) without forwarding; `truncate`: forward, then send half the body and
   * cut the connection; `corrupt`: forward, flip a byte of the body; `drop-body`: read part of
   * the request body, then cut the connection (nothing reaches the registry); `no-range`:
   * forward without the Range header (a registry that ignores ranges); `stall`: forward, then
   * send half the body and nothing more (until the proxy stops); `corrupt-upload`: forward the
   * request with a byte of its body flipped.
   */
  action: 'reset' | 'status' | 'truncate' | 'corrupt' | 'drop-body' | 'no-range' | 'stall' | 'corrupt-upload';
  status?: number;
  retryAfter?: number;
  times: number;
}

export interface FaultProxy {
  domain: string;
  port: number;
  /** Every request seen: method, path, its Range header, the fault injected. */
  log: { method: string; url: string; range?: string; fault?: string }[];
  faults: Fault[];
  stop(): Promise<void>;
}

/** Starts the fault-injecting proxy in front of `target` (`127.0.0.1:PORT`). */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const [thost, tport] = target.split(':');
  const proxy: FaultProxy = { domain: '', port: 0, log: [], faults: [], stop: async () => undefined };
  const server = http.createServer((req, res) => {
    const entry: { method: string; url: string; range?: string; fault?: string } = { method: req.method ?? 'GET', url: req.url ?? '/', ...(req.headers.range ? { range: req.headers.range } : {}) };
    proxy.log.push(entry);
    const fault = proxy.faults.find((f) => f.times > 0 && f.match(entry));
    if (fault) {
      fault.times--;
      entry.fault = fault.action;
    }
    if (fault?.action === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.action === 'status') {
      req.resume();
      res.writeHead(fault.status ?? 500, { 'content-type': 'application/json', ...(fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {}) });
      res.end(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: `injected ${fault.status ?? 500}` }] }));
      return;
    }
    if (fault?.action === 'drop-body') {
      let n = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
        if (n > 1024) req.socket.destroy();
      });
      req.on('end', () => req.socket.destroy());
      return;
    }
    const headers = { ...req.headers };
    if (fault?.action === 'no-range') delete headers.range;
    const up = http.request({ host: thost, port: Number(tport), method: req.method, path: req.url, headers }, (ures) => {
      if (fault?.action === 'truncate' || fault?.action === 'corrupt' || fault?.action === 'stall') {
        const chunks: Buffer[] = [];
        ures.on('data', (c: Buffer) => chunks.push(c));
        ures.on('end', () => {
          const body = Buffer.concat(chunks);
          res.writeHead(ures.statusCode ?? 502, ures.headers);
          if (fault.action === 'truncate') {
            res.write(body.subarray(0, Math.floor(body.length / 2)));
            setTimeout(() => res.socket?.destroy(), 20);
          } else if (fault.action === 'stall') {
            res.write(body.subarray(0, Math.floor(body.length / 2)));
          } else {
            if (body.length) body[Math.floor(body.length / 2)] ^= 0xff;
            res.end(body);
          }
        });
        return;
      }
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      ures.pipe(res);
    });
    up.on('error', () => res.socket?.destroy());
    if (fault?.action === 'corrupt-upload') {
      let first = true;
      req.on('data', (c: Buffer) => {
        if (first && c.length) {
          c = Buffer.from(c);
          c[0] ^= 0xff;
          first = false;
        }
        up.write(c);
      });
      req.on('end', () => up.end());
      return;
    }
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as net.AddressInfo).port;
  proxy.domain = `127.0.0.1:${proxy.port}`;
  proxy.stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}

/** The project's content store on `dir` (created). */
export async function makeStore(dir: string): Promise<ContentStore> {
  return await LocalContentStore.open(dir);
}

/** Bytes of a tar with the given files (regular files, mode 0644, mtime 0). */
export function tarOf(files: Record<string, Buffer | string>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.from(content);
    const h = Buffer.alloc(512);
    h.write(name, 0, 100, 'utf8');
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h.write('0', 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/**
 * Writes an image with one layer per entry of `layers` (each a tar of its files; `gzip` or
 * uncompressed) into `store`; returns the manifest descriptor and the blob descriptors.
 */
export async function makeImage(store: ContentStore, layers: Record<string, Buffer | string>[], opts: { compression?: 'gzip' | 'none'; format?: 'oci' | 'docker'; architecture?: string } = {}): Promise<{ manifest: Descriptor; config: Descriptor; layers: Descriptor[] }> {
  const descs: Descriptor[] = [];
  const diffIds: Digest[] = [];
  for (const files of layers) {
    const r = await writeTarLayer(Readable.from([tarOf(files)]), store, { compression: opts.compression ?? 'gzip' });
    descs.push(r.descriptor);
    diffIds.push(r.diffId);
  }
  const config: ImageConfig = { architecture: opts.architecture ?? 'amd64', os: 'linux', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: diffIds } };
  const w = await writeImage(store, config, descs, { format: opts.format ?? 'oci' });
  return { manifest: w.manifestDescriptor, config: w.configDescriptor, layers: w.manifest.layers };
}

/** Random bytes (incompressible, for large layers). */
export const noise = (n: number): Buffer => randomBytes(n);

/** Runs a program; resolves stdout, rejects with its stderr. */
export async function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  try {
    return (await execFileP(cmd, args, { env: env ?? process.env, maxBuffer: 16 << 20 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}
