/**
 * The embedded DNS server of a user-defined network (dockerd's 127.0.0.11): a small Node
 * program that runs inside the network's namespace (netns.ts starts it as the namespace's
 * holder, `unshare --net node -e …`) and answers on the bridge's gateway address, port 53, UDP
 * and TCP. Each container's namespace redirects 127.0.0.11:53 there (netns.ts).
 *
 * It answers A, AAAA and PTR questions for the names the daemon gives it, per asking container
 * (by source address: a container sees the names of every network it is on, and its own links),
 * and forwards every other question unchanged to the upstream resolvers (slirp4netns' forwarder,
 * which asks the host's resolv.conf servers); with no upstream (an internal network) it answers
 * SERVFAIL.
 *
 * Protocol on stdin/stdout, one JSON object a line:
 * - in `{"listen":["172.18.0.1"],"upstream":["10.0.2.3"]}` → out `{"ok":"listen"}` or `{"error":…}`;
 * - in `{"views":{SRC_IP:{NAME:{"v4":[…],"v6":[…]}}},"ptr":{IP:NAME}}` → out `{"ok":"views"}`.
 * Stdin's end (the daemon is gone) ends the program, and with it the namespace.
 *
 * `dnsAgentMain` is written to run from its own source text (`dnsAgentScript()`): it uses only
 * its parameters and Node's built-ins, so the daemon needs no extra file beside its bundle.
 * No DNS library fits that (they are not self-contained); the message format handled here is
 * RFC 1035's header, one question and A/AAAA/PTR answers.
 */
import type dgramModule from 'node:dgram';
import type netModule from 'node:net';
import type readlineModule from 'node:readline';

export interface DnsView {
  [name: string]: { v4: string[]; v6: string[] };
}

export interface DnsRecords {
  /** Source address of a container → the names it can resolve. */
  views: Record<string, DnsView>;
  /** Address → name, for reverse lookups. */
  ptr: Record<string, string>;
}

/** The agent's program text for `node -e`. */
export function dnsAgentScript(): string {
  return `(${dnsAgentMain.toString()})(require('node:dgram'), require('node:net'), require('node:readline'));`;
}

/** The agent (see the module comment). Exported for its text and for tests that run it in-process. */
export function dnsAgentMain(dgram: typeof dgramModule, net: typeof netModule, readline: typeof readlineModule, port = 53, io: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream; exit: () => void } = { input: process.stdin, output: process.stdout, exit: () => process.exit(0) }): void {
  let records: DnsRecords = { views: {}, ptr: {} };
  let upstreams: string[] = [];
  const closers: (() => void)[] = [];
  const say = (o: unknown): void => void io.output.write(`${JSON.stringify(o)}\n`);

  function readName(buf: Buffer, off: number): { name: string; end: number } {
    const labels: string[] = [];
    let end = -1;
    for (let guard = 0; guard < 128; guard++) {
      const len = buf[off];
      if (len === undefined) throw new Error('short name');
      if (len === 0) {
        if (end < 0) end = off + 1;
        return { name: labels.join('.'), end };
      }
      if ((len & 0xc0) === 0xc0) {
        if (end < 0) end = off + 2;
        off = ((len & 0x3f) << 8) | buf[off + 1];
        continue;
      }
      labels.push(buf.toString('latin1', off + 1, off + 1 + len));
      off += 1 + len;
    }
    throw new Error('name loop');
  }

  function encodeName(name: string): Buffer {
    const parts = name.split('.').filter((p) => p !== '');
    return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')])), Buffer.from([0])]);
  }

  function ipv6Bytes(ip: string): Buffer {
    const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
    const h = head ? head.split(':') : [];
    const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
    const groups = tail !== undefined ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
    const b = Buffer.alloc(16);
    groups.forEach((g, i) => b.writeUInt16BE(parseInt(g || '0', 16), i * 2));
    return b;
  }

  function answer(q: Buffer, src: string): Buffer | undefined {
    if (q.length < 12) return undefined;
    const id = q.readUInt16BE(0);
    const flags = q.readUInt16BE(2);
    if (flags & 0x8000 || q.readUInt16BE(4) !== 1) return undefined; // a response, or not one question
    const { name, end } = readName(q, 12);
    const qtype = q.readUInt16BE(end);
    const question = q.subarray(12, end + 4);
    const lname = name.toLowerCase();
    const view = records.views[src] ?? {};
    const rrs: Buffer[] = [];
    let known = false;
    if (lname.endsWith('.in-addr.arpa') || lname.endsWith('.ip6.arpa')) {
      const ip = lname.endsWith('.in-addr.arpa') ? lname.slice(0, -'.in-addr.arpa'.length).split('.').reverse().join('.') : '';
      const target = ip ? records.ptr[ip] : undefined;
      if (target !== undefined) {
        known = true;
        if (qtype === 12 || qtype === 255) rrs.push(rr(12, encodeName(target)));
      }
    } else if (view[lname]) {
      known = true;
      const r = view[lname];
      if (qtype === 1 || qtype === 255) for (const a of r.v4) rrs.push(rr(1, Buffer.from(a.split('.').map(Number))));
      if (qtype === 28 || qtype === 255) for (const a of r.v6) rrs.push(rr(28, ipv6Bytes(a)));
    }
    if (!known) return undefined;
    const head = Buffer.alloc(12);
    head.writeUInt16BE(id, 0);
    head.writeUInt16BE(0x8000 | (flags & 0x7900) | 0x0400 | 0x0080, 2); // QR, opcode+RD kept, AA, RA; rcode 0
    head.writeUInt16BE(1, 4);
    head.writeUInt16BE(rrs.length, 6);
    return Buffer.concat([head, question, ...rrs]);
  }

  function rr(type: number, data: Buffer): Buffer {
    const b = Buffer.alloc(12);
    b.writeUInt16BE(0xc00c, 0); // the question's name
    b.writeUInt16BE(type, 2);
    b.writeUInt16BE(1, 4);
    b.writeUInt32BE(600, 6);
    b.writeUInt16BE(data.length, 10);
    return Buffer.concat([b, data]);
  }

  function failure(q: Buffer, rcode: number): Buffer {
    const b = Buffer.from(q);
    b.writeUInt16BE(0x8000 | (q.readUInt16BE(2) & 0x7900) | 0x0080 | rcode, 2);
    b.writeUInt16BE(0, 6);
    b.writeUInt16BE(0, 8);
    b.writeUInt16BE(0, 10);
    return b;
  }

  /** Asks the upstreams in turn (2 s each); SERVFAIL when none answers. */
  function forward(q: Buffer, reply: (b: Buffer) => void): void {
    const tryAt = (i: number): void => {
      if (i >= upstreams.length) return reply(failure(q, 2));
      const up = upstreams[i];
      const s = dgram.createSocket(up.includes(':') ? 'udp6' : 'udp4');
      const timer = setTimeout(() => {
        s.close();
        tryAt(i + 1);
      }, 2000);
      s.on('error', () => {
        clearTimeout(timer);
        s.close();
        tryAt(i + 1);
      });
      s.on('message', (m) => {
        clearTimeout(timer);
        s.close();
        reply(m);
      });
      s.send(q, 53, up);
    };
    tryAt(0);
  }

  function handle(q: Buffer, src: string, reply: (b: Buffer) => void): void {
    let a: Buffer | undefined;
    try {
      a = answer(q, src.replace(/^::ffff:/, ''));
    } catch {
      if (q.length >= 12) reply(failure(q, 1)); // FORMERR
      return;
    }
    if (a) reply(a);
    else forward(q, reply);
  }

  function listen(addrs: string[]): void {
    let pending = addrs.length * 2;
    let failed = false;
    const done = (err?: Error): void => {
      if (failed) return;
      if (err) {
        failed = true;
        say({ error: err.message });
        return;
      }
      if (--pending === 0) say({ ok: 'listen' });
    };
    for (const addr of addrs) {
      const udp = dgram.createSocket(addr.includes(':') ? 'udp6' : 'udp4');
      udp.on('error', (e) => done(e));
      udp.on('message', (m, rinfo) => handle(m, rinfo.address, (b) => udp.send(b, rinfo.port, rinfo.address)));
      udp.bind(port, addr, () => done());
      closers.push(() => udp.close());
      const tcp = net.createServer((c) => {
        let buf = Buffer.alloc(0);
        c.on('error', () => c.destroy());
        c.setTimeout(10_000, () => c.destroy());
        c.on('data', (d: Buffer) => {
          buf = Buffer.concat([buf, d]);
          while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
            const q = buf.subarray(2, 2 + buf.readUInt16BE(0));
            buf = buf.subarray(2 + q.length);
            handle(q, c.remoteAddress ?? '', (b) => {
              const len = Buffer.alloc(2);
              len.writeUInt16BE(b.length);
              if (!c.destroyed) c.write(Buffer.concat([len, b]));
            });
          }
        });
      });
      tcp.on('error', (e) => done(e));
      tcp.listen(port, addr, () => done());
      closers.push(() => tcp.close());
    }
  }

  const rl = readline.createInterface({ input: io.input });
  rl.on('line', (line) => {
    let msg: { listen?: string[]; upstream?: string[]; views?: DnsRecords['views']; ptr?: DnsRecords['ptr'] };
    try {
      msg = JSON.parse(line);
    } catch {
      say({ error: `bad line: ${line}` });
      return;
    }
    if (msg.listen) {
      upstreams = msg.upstream ?? [];
      listen(msg.listen);
    }
    if (msg.views) {
      records = { views: msg.views, ptr: msg.ptr ?? {} };
      say({ ok: 'views' });
    }
  });
  rl.on('close', () => {
    for (const c of closers) c();
    io.exit();
  });
  say({ ok: 'ready' });
}
