/**
 * The CA roots a TLS client of mybuild trusts beyond Node's defaults.
 *
 * The `mybuild` launcher (scripts/cli-launcher.sh) moves NODE_EXTRA_CA_CERTS to
 * MYBUILD_EXTRA_CA_CERTS before Node starts: Node parses that file at every start-up (~40 ms
 * for Debian's bundle), while only registry and ADD-URL connections need it. Those read it
 * here, once, when they first set up TLS, so the variable means what it means to any Node
 * program. A file that cannot be read is ignored with a warning, as Node does.
 */
import { readFileSync } from 'node:fs';
import tls from 'node:tls';

const loaded = new Map<string, string | undefined>();

/** The PEM text of MYBUILD_EXTRA_CA_CERTS, or undefined when it is unset or unreadable. */
export function extraCAs(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = env.MYBUILD_EXTRA_CA_CERTS;
  if (!file) return undefined;
  if (!loaded.has(file)) {
    try {
      loaded.set(file, readFileSync(file, 'utf8'));
    } catch (err) {
      loaded.set(file, undefined);
      process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(err as Error).message}`);
    }
  }
  return loaded.get(file);
}

/**
 * The `ca` option for a TLS client that also trusts `more` (a registry's certs.d files): Node's
 * bundled roots plus the extra CAs, or undefined when Node's defaults are all there is (giving
 * `ca` replaces them, so they are listed again).
 */
export function trustedCAs(more: (string | Buffer)[] = [], env: NodeJS.ProcessEnv = process.env): (string | Buffer)[] | undefined {
  const extra = extraCAs(env);
  if (!more.length && extra === undefined) return undefined;
  return [...more, ...(extra !== undefined ? [extra] : []), ...tls.rootCertificates];
}
