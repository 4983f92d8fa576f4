/**
 * The tty view in a real pseudo-terminal: mybuild runs inside a detached tmux session (100×30,
 * its own tmux server socket), the final screen is read with `tmux capture-pane` and checked;
 * NO_COLOR turns every colour off (capture with -e keeps escape codes).
 * Set MYBUILD_TTY_CAPTURE=FILE to save the final screen of the multi-stage build (docs/tty-capture.txt).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { buildSkipReason, cliCommand, makeContext, removeAll, storeWithBase } from './build-fixture.js';

const run = promisify(execFile);
const tmuxSkip = ['/usr/bin/tmux', '/bin/tmux', '/usr/local/bin/tmux'].some((p) => existsSync(p)) ? false : 'tmux is not installed (scripts/install-system-deps.sh)';
const skip = (await buildSkipReason()) || tmuxSkip;

const MULTI_STAGE = [
  'FROM busybox AS deps',
  'RUN echo fetching deps && sleep 0.3 && echo deps > /deps.txt',
  '',
  'FROM busybox AS build',
  'COPY app.sh /src/app.sh',
  'RUN for i in 1 2 3; do echo compiling part $i; sleep 0.2; done && cp /src/app.sh /app',
  '',
  'FROM busybox',
  'COPY --from=deps /deps.txt /deps.txt',
  'COPY --from=build /app /usr/local/bin/app',
  'ENV APP_MODE=production',
  'CMD ["app"]',
  '',
].join('\n');

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe('tty progress in a pseudo-terminal (tmux)', { skip }, () => {
  let root: string;
  let ctx: string;
  // One tmux server per session: a server whose last session was killed exits, and a
  // new-session that reaches it while it exits fails with "server exited unexpectedly".
  const socketOf = (name: string) => `mybuild-test-${process.pid}-${name}`;
  const used = new Set<string>();
  const tmuxOn = (name: string, ...args: string[]) => (used.add(name), run('tmux', ['-L', socketOf(name), ...args]));

  before(async () => {
    root = await storeWithBase();
    ctx = await makeContext({ Dockerfile: MULTI_STAGE, 'app.sh': '#!/bin/sh\necho app\n' });
  });
  after(async () => {
    for (const name of used) await tmuxOn(name, 'kill-server').catch(() => undefined);
    await removeAll(root, ctx);
  });

  /** Runs `mybuild build ARGS` in a 100×30 tmux pane; returns the final screen and the exit code. */
  async function inTmux(name: string, args: string[], env: Record<string, string>): Promise<{ screen: string; raw: string; code: number }> {
    const cmd = [...cliCommand(), '--root', root, 'build', ...args, ctx].map(shq).join(' ');
    const envs = Object.entries({ TERM: 'xterm-256color', ...env }).map(([k, v]) => `${k}=${shq(v)}`).join(' ');
    const tmux = (...a: string[]) => tmuxOn(name, ...a);
    await tmux('new-session', '-d', '-s', name, '-x', '100', '-y', '30', `cd ${shq(ctx)} && env -u NO_COLOR ${envs} ${cmd}; echo "EXIT=$?"; sleep 60`);
    const deadline = Date.now() + 60_000;
    let screen = '';
    while (Date.now() < deadline) {
      screen = (await tmux('capture-pane', '-p', '-J', '-t', name)).stdout; // -J: join wrapped lines
      if (/^EXIT=\d+/m.test(screen)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const raw = (await tmux('capture-pane', '-p', '-e', '-t', name)).stdout;
    await tmux('kill-server').catch(() => undefined);
    const m = /^EXIT=(\d+)/m.exec(screen);
    assert.ok(m, `the build did not finish within 60s; screen:\n${screen}`);
    return { screen: screen.slice(0, m.index).trimEnd(), raw, code: Number(m[1]) };
  }

  /**
   * Runs `mybuild build ARGS` on `dir` in a `cols`×`rows` tmux pane and returns every distinct
   * screen seen while it ran (captured every 100 ms), the final screen and the exit code.
   */
  async function liveInTmux(name: string, dir: string, args: string[], cols: number, rows: number): Promise<{ screens: string[]; screen: string; code: number }> {
    const cmd = [...cliCommand(), '--root', root, 'build', ...args, dir].map(shq).join(' ');
    const tmux = (...a: string[]) => tmuxOn(name, ...a);
    await tmux('new-session', '-d', '-s', name, '-x', String(cols), '-y', String(rows), `cd ${shq(dir)} && env TERM=xterm-256color NO_COLOR=1 ${cmd}; echo "EXIT=$?"; sleep 60`);
    const screens: string[] = [];
    const deadline = Date.now() + 60_000;
    let screen = '';
    while (Date.now() < deadline) {
      screen = (await tmux('capture-pane', '-p', '-t', name)).stdout;
      if (/^EXIT=\d+/m.test(screen)) break;
      if (screens[screens.length - 1] !== screen) screens.push(screen);
      await new Promise((r) => setTimeout(r, 100));
    }
    await tmux('kill-server').catch(() => undefined);
    const m = /^EXIT=(\d+)/m.exec(screen);
    assert.ok(m, `the build did not finish within 60s; screen:\n${screen}`);
    return { screens, screen, code: Number(m[1]) };
  }

  it('live: a COPY --from waits (shown waiting, not running) until its stage is built, and its time counts from its start', async () => {
    const dir = await makeContext({ Dockerfile: 'FROM busybox AS slow\nRUN sleep 2.5 && echo x > /x\n\nFROM busybox\nCOPY --from=slow /x /x\n' });
    try {
      const { screens, screen, code } = await liveInTmux('waiting', dir, ['--progress=tty', '--no-cache'], 100, 30);
      assert.equal(code, 0, screen);
      const copyLine = (sc: string) => sc.split('\n').find((l) => l.includes('COPY --from=slow')) ?? '';
      const duringSleep = screens.filter((sc) => /#2 running .*RUN sleep 2\.5/.test(sc));
      assert.ok(duringSleep.length > 0, `a screen while the RUN ran:\n${screens.join('\n----\n')}`);
      for (const sc of duringSleep) assert.match(copyLine(sc), /#4 waiting +\[stage-1 2\/2\] COPY --from=slow \/x \/x\s*$/, sc);
      // Final: the COPY took well under the 2.5 s it waited.
      const t = /(\d+\.\d)s$/.exec(copyLine(screen));
      assert.ok(t && Number(t[1]) < 2, copyLine(screen));
    } finally {
      await removeAll(dir);
    }
  });

  it('live: in a short terminal the header line stays on screen (older steps fold into "… N more steps above")', async () => {
    const stages = Array.from({ length: 8 }, (_, i) => `FROM busybox AS s${i}\nRUN sleep 2 && echo ${i} > /f${i}\n`).join('\n');
    const dir = await makeContext({ Dockerfile: `${stages}\nFROM busybox\n${Array.from({ length: 8 }, (_, i) => `COPY --from=s${i} /f${i} /f${i}`).join('\n')}\n` });
    try {
      const rows = 8;
      const { screens, screen, code } = await liveInTmux('short', dir, ['--progress=tty', '--no-cache'], 100, rows);
      assert.equal(code, 0, screen);
      // Every live screen that shows steps starts with the header.
      const live = screens.filter((sc) => /#\d+ (running|waiting|DONE)/.test(sc) && !/EXIT=/.test(sc));
      assert.ok(live.length > 0, 'live screens were captured');
      for (const sc of live) {
        const lines = sc.split('\n');
        assert.match(lines[0], /^\[\+\] Building \d+\.\ds \(\d+\/25\)$/, `the header stays on screen:\n${sc}`);
        assert.ok(lines.filter((l) => l.trim() !== '').length <= rows, sc);
      }
      assert.ok(live.some((sc) => / … (\d+ finished steps?, )?\d+ more steps? above/.test(sc)), `a fold line:\n${live.join('\n----\n')}`);
    } finally {
      await removeAll(dir);
    }
  });

  it('final screen: every step with its state and time, warnings none, summary with image ID and size', async () => {
    const { screen, code } = await inTmux('first', ['--progress=tty', '-t', 'multi:1'], { NO_COLOR: '1' });
    assert.equal(code, 0, screen);
    const lines = screen.split('\n');
    assert.match(lines[0], /^\[\+\] Building \d+\.\ds \(10\/10\) FINISHED$/);
    const want: [string, string][] = [
      ['DONE', '[deps 1/2] FROM busybox AS deps'],
      ['DONE', '[deps 2/2] RUN echo fetching deps && sleep 0.3 && echo deps > /deps.txt'],
      ['DONE', '[build 1/3] FROM busybox AS build'],
      ['DONE', '[build 2/3] COPY app.sh /src/app.sh'],
      ['DONE', '[build 3/3] RUN for i in 1 2 3; do echo compiling part $i; sleep 0.2; done && cp /src/app.sh /app'],
      ['DONE', '[stage-2 1/5] FROM busybox'],
      ['DONE', '[stage-2 2/5] COPY --from=deps /deps.txt /deps.txt'],
      ['DONE', '[stage-2 3/5] COPY --from=build /app /usr/local/bin/app'],
      ['DONE', '[stage-2 4/5] ENV APP_MODE=production'],
      ['DONE', '[stage-2 5/5] CMD ["app"]'],
    ];
    // Ten step lines (in step order), each fitting in 99 columns, its time right-aligned.
    const steps = lines.slice(1, 11);
    steps.forEach((l, i) => {
      assert.ok(l.length <= 99, `fits the width: ${l}`);
      assert.match(l, /\d+\.\ds$/, l);
      const m = /^ +#(\d+) (\S+) +(.*?) +\d+\.\ds$/.exec(l);
      assert.ok(m, l);
      assert.equal(m[2], want[i][0], l);
      const label = want[i][1];
      // Long labels are cut with an ellipsis to the terminal width.
      assert.ok(m[3] === label || (m[3].endsWith('…') && label.startsWith(m[3].slice(0, -1))), `${m[3]} vs ${label}`);
    });
    assert.ok(steps[4].includes('…'), 'the long RUN line is truncated');
    assert.match(screen, /^Built in \d+\.\ds: 10 steps, 0 cached, image size \d+(\.\d+)?[kM]?B$/m);
    assert.match(screen, /^Image ID sha256:[0-9a-f]{64}$/m);
    assert.match(screen, /^Tagged multi:1$/m);
    assert.doesNotMatch(screen, /running|waiting/);
    if (process.env.MYBUILD_TTY_CAPTURE) await writeFile(process.env.MYBUILD_TTY_CAPTURE, `$ mybuild build -t multi:1 .\n${screen}\n`);
  });

  it('rebuild: CACHED steps; --explain adds the cache section; NO_COLOR leaves no colour codes', async () => {
    const { screen, raw, code } = await inTmux('second', ['--progress=tty', '--explain', '-t', 'multi:1'], { NO_COLOR: '1' });
    assert.equal(code, 0, screen);
    assert.match(screen, /^ +#2 CACHED +\[deps 2\/2\] RUN echo fetching deps/m);
    assert.match(screen, /^ +#7 CACHED +\[stage-2 2\/5\] COPY --from=deps/m);
    assert.match(screen, /^Cache:$/m);
    assert.match(screen, /^ #2 cache hit \(key sha256:[0-9a-f]{12}\)  \[deps 2\/2\] RUN/m);
    assert.match(screen, /^ #1 no cache lookup: base image  \[deps 1\/2\] FROM busybox AS deps$/m);
    assert.doesNotMatch(raw, /\x1b\[[0-9;]*m/, 'no SGR colour sequences with NO_COLOR');
  });

  it('colours without NO_COLOR; auto picks the tty view on a terminal', async () => {
    const { screen, raw, code } = await inTmux('third', ['-t', 'multi:1'], {});
    assert.equal(code, 0, screen);
    assert.match(screen, /^\[\+\] Building \d+\.\ds \(10\/10\) FINISHED$/m);
    assert.match(raw, /\x1b\[[0-9;]*m/, 'colour sequences on a terminal');
  });

  it('a failing step shows ERROR in the view and the report below it', async () => {
    const failing = await makeContext({ Dockerfile: 'FROM busybox\nRUN echo about to fail && exit 7\n' });
    const saved = ctx;
    ctx = failing;
    try {
      const { screen, code } = await inTmux('fourth', ['--progress=tty'], { NO_COLOR: '1' });
      assert.equal(code, 4, screen);
      assert.match(screen, /^\[\+\] Building \d+\.\ds \(1\/2\) ERROR$/m);
      assert.match(screen, /^ +#2 ERROR +\[stage-0 2\/2\] RUN echo about to fail && exit 7 +\d+\.\ds$/m);
      assert.match(screen, /^error: Dockerfile:2:1: process .* exit code: 7$/m);
      assert.match(screen, /^ 2 \| >>> RUN echo about to fail && exit 7$/m);
      assert.match(screen, /^  about to fail$/m);
    } finally {
      ctx = saved;
      await removeAll(failing);
    }
  });
});

export { path };
