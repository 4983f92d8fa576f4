/**
 * `mybuild run -t/-it` and terminals, as docker's CLI: -it with a stdin that is not a terminal
 * is refused ("the input device is not a TTY", exit 1) before anything is created or any
 * daemon is reached; in a real terminal (tmux) -it runs, and -t gives the container the
 * terminal's size and follows its resizes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { runCli } from '../helpers/cli.js';
import { buildSkipReason, cleanupTemp, cliSkipReason, makeStoreRoot, runCliProcess } from '../helpers/build.js';
import { cliPath } from '../helpers/paths.js';
import { startTestDaemon } from '../daemon/helpers.js';

const exec = promisify(execFile);
const tmuxSkip = ['/usr/bin/tmux', '/bin/tmux', '/usr/local/bin/tmux'].some((p) => existsSync(p)) ? false : 'tmux is not installed';

describe('run -it without a terminal', () => {
  it('refuses: the input device is not a TTY, exit 1, daemonless and through -H (no hang)', async () => {
    for (const g of [['--root', '/nonexistent-mybuild-tty'], ['-H', 'unix:///nonexistent-mybuild-tty.sock']]) {
      const r = await runCli([...g, 'run', '-it', 'busybox', 'cat'], { stdin: 'hi\n' });
      assert.equal(r.code, 1, r.err);
      assert.equal(r.err, 'error: the input device is not a TTY\n');
      assert.equal(r.out, '');
    }
  });

  it('the installed command, stdin a pipe: echo hi | mybuild run -it busybox cat', { skip: cliSkipReason() }, async () => {
    const r = await runCliProcess(['--root', '/nonexistent-mybuild-tty', 'run', '-it', 'busybox', 'cat'], { input: 'hi\n' });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'error: the input device is not a TTY\n');
  });
});

describe('run -it in a terminal (tmux)', { skip: buildSkipReason() || tmuxSkip || cliSkipReason() }, () => {
  let root: string;
  // One tmux server per window: a new-session can reach a server a kill-server is still shutting down.
  let n = 0;
  let sock = '';
  const tmux = (...args: string[]) => exec('tmux', ['-S', sock, ...args]);
  before(async () => {
    root = await makeStoreRoot();
  });
  after(async () => {
    await tmux('kill-server').catch(() => undefined);
    await cleanupTemp();
  });

  /** Runs `mybuild ARGS` in a fresh tmux window of `cols`×`rows`; resolves with the screen once it printed `END`. */
  async function inTmux(args: string[], size: { cols: number; rows: number }, during?: () => Promise<void>, global = ['--root', root]): Promise<string> {
    const cmd = [process.execPath, cliPath, ...global, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    if (sock) await tmux('kill-server').catch(() => undefined);
    sock = `/tmp/mybuild-run-tty-${process.pid}-${++n}.sock`;
    await tmux('new-session', '-d', '-x', String(size.cols), '-y', String(size.rows), `${cmd}; echo "rc=$? END"; sleep 30`);
    const deadline = Date.now() + 30_000;
    let screen = '';
    let ran = false;
    while (Date.now() < deadline) {
      screen = (await tmux('capture-pane', '-p')).stdout;
      if (!ran && during && screen.includes('READY')) {
        ran = true;
        await during();
      }
      if (screen.includes('END')) return screen;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`no END on the screen:\n${screen}`);
  }

  it('-t gives the container the terminal\'s size and follows its resizes (SIGWINCH)', async () => {
    const screen = await inTmux(['run', '--rm', '-t', 'busybox', 'sh', '-c', 'stty size; echo READY; sleep 2; stty size'], { cols: 100, rows: 30 }, async () => {
      await tmux('resize-window', '-x', '120', '-y', '40');
    });
    const lines = screen.split('\n').map((l) => l.trim()).filter(Boolean);
    assert.deepEqual(lines.slice(0, 4), ['30 100', 'READY', '40 120', 'rc=0 END'], screen);
  });

  it('-t through -H: the client sends the size once started and on SIGWINCH (POST /containers/{id}/resize), the container sees it', async () => {
    const d = await startTestDaemon({ root });
    try {
      const screen = await inTmux(['run', '--rm', '-t', 'busybox', 'sh', '-c', 'stty size; echo READY; sleep 2; stty size'], { cols: 100, rows: 30 }, async () => {
        await tmux('resize-window', '-x', '120', '-y', '40');
      }, ['-H', d.host]);
      const lines = screen.split('\n').map((l) => l.trim()).filter(Boolean);
      assert.deepEqual(lines.slice(0, 4), ['30 100', 'READY', '40 120', 'rc=0 END'], screen);
    } finally {
      await d.stop();
    }
  });

  it('-it runs with a terminal on both sides', async () => {
    const screen = await inTmux(['run', '--rm', '-it', 'busybox', 'sh', '-c', 'tty; echo done'], { cols: 80, rows: 24 });
    assert.match(screen, /\/dev\/pts\/\d+\s+done/);
    assert.match(screen, /rc=0 END/);
  });
});
