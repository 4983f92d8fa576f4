/**
 * `--format` against docker's own formatter: the real docker CLI, talking to a mybuild daemon,
 * formats the same images and containers that mybuild formats daemonless (--root of that
 * daemon) and through -H; the three outputs are equal for docker's fields (images: ID,
 * Repository, Tag, Digest, CreatedSince, CreatedAt, Size; ps: ID, Image, Command, CreatedAt,
 * RunningFor, Ports, Status, Size, Names, Labels, Mounts) and for table, json and Go functions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { baseImageSkipReason } from '../../helpers/base-image.js';
import { runCli } from '../../helpers/cli.js';
import { docker, loadBusybox, dockerMissing, notRoot, runcMissing, startTestDaemon, type TestDaemon } from '../../daemon/helpers.js';

const skip = dockerMissing || notRoot || runcMissing || baseImageSkipReason();

describe('--format is docker\'s', { skip, concurrency: false }, () => {
  let d: TestDaemon;
  before(async () => {
    d = await startTestDaemon();
    await loadBusybox(d);
    assert.equal((await docker(d, ['tag', 'busybox:latest', 'example.com/team/app:1.0'])).code, 0);
    const r = await docker(d, ['run', '--name', 'fmt-one', '-v', `${d.dir}:/mnt`, 'busybox', 'sh', '-c', 'echo a long command line; exit 3']);
    assert.equal(r.code, 3, r.stderr);
  });
  after(async () => {
    await d?.stop();
  });

  /** docker CLI, mybuild daemonless and mybuild -H: the three outputs of `args`. */
  async function three(args: string[]): Promise<[string, string, string]> {
    const a = await docker(d, args);
    assert.equal(a.code, 0, `docker ${args.join(' ')}: ${a.stderr}`);
    const b = await runCli(['--root', d.root, ...args]);
    assert.equal(b.code, 0, `mybuild ${args.join(' ')}: ${b.err}`);
    const c = await runCli(['-H', d.host, ...args]);
    assert.equal(c.code, 0, `mybuild -H ${args.join(' ')}: ${c.err}`);
    // Ages ("3 seconds ago") may cross a second between the three calls, and so change a
    // column's width: compare them as one word, and a column gap as two spaces, when they occur.
    const age = (t: string) => (/seconds? ago|About a minute ago/.test(t) ? t.replace(/(\d+ seconds?|Less than a second|About a minute) ago/g, 'AGE ago').replace(/ {2,}/g, '  ') : t);
    return [age(a.stdout), age(b.out), age(c.out)];
  }

  /** docker lists the tags of one image in Go map order (random): compare images' lines as sets. */
  const sorted = (s: string): string[] => s.split('\n').sort();

  const imageFormats = [
    '{{.Repository}}:{{.Tag}}',
    '{{.ID}} {{.Repository}} {{.Tag}} {{.Digest}} {{.Size}} {{.CreatedAt}} {{.CreatedSince}}',
    'table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.Size}}',
    'table {{.Repository}}\\t{{.CreatedAt}}',
    '{{json .}}',
    'json',
    '{{.Repository | upper}} {{lower .Tag}} {{println .ID}}',
    '{{if eq .Tag "1.0"}}{{.Repository}}{{end}}',
    '{{.Containers}} {{.SharedSize}} {{.UniqueSize}} {{.VirtualSize}}',
  ];
  for (const f of imageFormats) {
    it(`images --format ${f}`, async () => {
      const [want, local, remote] = await three(['images', '--format', f]);
      assert.deepEqual(sorted(local), sorted(want));
      assert.deepEqual(sorted(remote), sorted(want));
    });
  }
  it('images: the default table, --digests, --no-trunc, -q', async () => {
    for (const args of [['images'], ['images', '--digests'], ['images', '--no-trunc'], ['images', '-q'], ['images', '--format', 'table']]) {
      const [want, local, remote] = await three(args);
      assert.deepEqual(sorted(local), sorted(want), args.join(' '));
      assert.deepEqual(sorted(remote), sorted(want), args.join(' '));
      assert.equal(local.split('\n')[0], want.split('\n')[0], 'the header first');
    }
  });

  const psFormats = [
    '{{.ID}} {{.Image}} {{.Command}} {{.Status}} {{.Names}}',
    '{{.CreatedAt}}|{{.RunningFor}}|{{.Ports}}|{{.Size}}|{{.Labels}}|{{.Mounts}}|{{.State}}',
    'table {{.Names}}\\t{{.Status}}\\t{{.Image}}',
    '{{.Label "x"}}{{.Networks}}',
  ];
  for (const f of psFormats) {
    it(`ps -a --format ${f}`, async () => {
      const [want, local, remote] = await three(['ps', '-a', '--format', f]);
      assert.equal(local, want);
      assert.equal(remote, want);
    });
  }
  it('ps: the default table, --no-trunc, -q', async () => {
    for (const args of [['ps', '-a'], ['ps', '-a', '--no-trunc'], ['ps', '-aq'], ['ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Command}}']]) {
      const [want, local, remote] = await three(args);
      assert.equal(local, want, args.join(' '));
      assert.equal(remote, want, args.join(' '));
    }
  });

  it('inspect, info and version --format', async () => {
    for (const f of ['{{.Config.Env}}', '{{index .RepoTags 0}} {{.Os}}/{{.Architecture}}', '{{range .RootFS.Layers}}{{println .}}{{end}}', '{{join .Config.Cmd " "}}', '{{json .Config.Cmd}}']) {
      const [want, local, remote] = await three(['inspect', '--format', f, 'busybox']);
      assert.equal(local, want, f);
      assert.equal(remote, want, f);
    }
    const info = await docker(d, ['info', '--format', '{{.Images}} {{.DockerRootDir}} {{.OSType}}']);
    const mine = await runCli(['-H', d.host, 'info', '--format', '{{.Images}} {{.DockerRootDir}} {{.OSType}}']);
    assert.equal(mine.out, info.stdout);
    const v = await docker(d, ['version', '--format', '{{.Server.Version}} {{.Server.APIVersion}} {{.Server.Platform.Name}}']);
    const mv = await runCli(['-H', d.host, 'version', '--format', '{{.Server.Version}} {{.Server.APIVersion}} {{.Server.Platform.Name}}']);
    assert.equal(mv.out, v.stdout);
  });

  it('a bad template is a usage error naming it, before anything is read', async () => {
    const r = await runCli(['--root', '/nonexistent-fmt', 'images', '--format', '{{.Nope']);
    assert.equal(r.code, 2);
    assert.match(r.err, /^error: template parsing error: template: :1: unclosed action/);
  });
});
