/**
 * The host's network state as text, to compare before and after a step: links, addresses,
 * routes (v4, v6) and iptables rules (`iptables-save` when present, without its date comments
 * and packet counters). Shared by the network tests (issue 19: nothing may change on the host).
 */
import http from 'node:http';
import { execCapture } from '../../src/runtime/exec.js';

export async function hostNetworkState(): Promise<string> {
  const parts: string[] = [];
  for (const args of [['-o', 'link'], ['-o', 'addr'], ['route'], ['-6', 'route']]) {
    const r = await execCapture('ip', args);
    parts.push(`$ ip ${args.join(' ')}\n${r.stdout.toString()}`);
  }
  const ipt = await execCapture('sh', ['-c', 'command -v iptables-save >/dev/null && iptables-save || true']);
  parts.push(`$ iptables-save\n${ipt.stdout.toString().split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/g, '')).join('\n')}`);
  return parts.join('\n');
}

/** Debian's mirror, reachable from this machine (the outside reachability tests use it). */
export const DEBIAN_MIRROR_RELEASE = 'http://deb.debian.org/debian/dists/bookworm/Release';

/** Whether the host itself gets a 200 for `url` (else the tests that need the outside skip). */
export function hostReaches(url = DEBIAN_MIRROR_RELEASE): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 10_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}
