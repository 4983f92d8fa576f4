/**
 * Variable expansion of typed commands, applied to exactly what Docker expands: ADD and COPY
 * (sources, destination, --from, --chown, --chmod, ADD's --checksum), ENV and LABEL (keys and
 * values), EXPOSE (split into words), STOPSIGNAL, USER, VOLUME, WORKDIR, ARG defaults and RUN
 * --mount values. RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK, MAINTAINER and ONBUILD are returned
 * unchanged, and heredoc bodies are left for the builder (it expands them, if their `expand` is
 * set, when it runs them).
 *
 * FROM is expanded by the planner with the global ARGs only (see plan.ts).
 */
import { BuildError, PlanError } from '../errors.js';
import type { Range } from '../oci/range.js';
import type { Command } from './commands.js';
import type { ParseContext } from './instructions.js';
import { MountSpecError, parseMount } from './mounts.js';
import { mountFlagRange, planError } from './instructions.js';
import type { ShellLex } from './shell-lex.js';

/** What expandCommand returns. */
export interface ExpandResult<C extends Command = Command> {
  /** A new command (the input is not modified); same kind and node. */
  cmd: C;
  /** Variables referenced while set. */
  matched: Set<string>;
  /** Variables referenced while unset. */
  unmatched: Set<string>;
}

/** Optional context for errors: the file name comes from the node's AST, text for excerpts. */
export interface ExpandOptions {
  /** The file name errors are reported against (default `Dockerfile`). */
  file?: string;
  /** The Dockerfile text, so error excerpts print. */
  text?: string;
}

/**
 * Expands the words of `cmd` with `env` (the stage's running environment: image Env, ENV and
 * the ARGs in scope). Idempotent for commands without variables; never mutates its inputs.
 * Throws PlanError (with the node's range, or the flag's range for RUN --mount) when a word does
 * not expand (`${x:?msg}`, bad syntax) or an expanded value is invalid (EXPOSE port, VOLUME "").
 */
export function expandCommand<C extends Command>(cmd: C, lex: ShellLex, env: ReadonlyMap<string, string>, opts: ExpandOptions = {}): ExpandResult<C> {
  const matched = new Set<string>();
  const unmatched = new Set<string>();
  const ctx: ParseContext = { ast: { file: opts.file ?? 'Dockerfile', directives: [], escapeToken: lex.escapeToken, instructions: [] }, ...(opts.text !== undefined ? { text: opts.text } : {}) };
  const word = (w: string, range: Range = cmd.node.range): string => {
    try {
      const r = lex.processWordWithMatches(w, env);
      for (const m of r.matched) matched.add(m);
      for (const m of r.unmatched) unmatched.add(m);
      return r.result;
    } catch (e) {
      if (e instanceof BuildError) throw planError(ctx, range, e.message, e.hint);
      throw e;
    }
  };
  const opt = (w: string | undefined, range?: Range): string | undefined => (w === undefined ? undefined : word(w, range));
  const flagRange = (name: string): Range => cmd.node.flags.find((f) => f.name === name)?.range ?? cmd.node.range;

  const c = cmd as Command;
  let out: Command;
  switch (c.kind) {
    case 'COPY':
    case 'ADD': {
      const base = {
        ...c,
        paths: c.paths.map((p) => word(p)),
        dest: word(c.dest),
      };
      const chown = opt(c.chown, flagRange('chown'));
      const chmod = opt(c.chmod, flagRange('chmod'));
      if (chown !== undefined) base.chown = chown;
      if (chmod !== undefined) base.chmod = chmod;
      if (base.kind === 'COPY' && c.kind === 'COPY' && c.from !== undefined) base.from = word(c.from, flagRange('from'));
      if (base.kind === 'ADD' && c.kind === 'ADD' && c.checksum !== undefined) base.checksum = word(c.checksum, flagRange('checksum'));
      out = base;
      break;
    }
    case 'ENV':
      out = { ...c, env: c.env.map((p) => ({ key: word(p.key), value: word(p.value) })) };
      break;
    case 'LABEL':
      out = { ...c, labels: c.labels.map((p) => ({ key: word(p.key), value: word(p.value) })) };
      break;
    case 'EXPOSE': {
      const ports: string[] = [];
      for (const [i, p] of c.ports.entries()) {
        const range = c.node.args[i]?.range ?? c.node.range;
        let words: string[];
        try {
          const r = lex.processWordWithMatches(p, env);
          for (const m of r.matched) matched.add(m);
          for (const m of r.unmatched) unmatched.add(m);
          words = lex.processWords(p, env);
        } catch (e) {
          if (e instanceof BuildError) throw planError(ctx, range, e.message, e.hint);
          throw e;
        }
        for (const w of words) {
          validatePort(w, (msg) => planError(ctx, range, msg, 'write EXPOSE <port>[/<tcp|udp|sctp>] or <start>-<end>[/proto]'));
          ports.push(w);
        }
      }
      out = { ...c, ports };
      break;
    }
    case 'STOPSIGNAL':
      out = { ...c, signal: word(c.signal) };
      break;
    case 'USER':
      out = { ...c, user: word(c.user) };
      break;
    case 'WORKDIR':
      out = { ...c, path: word(c.path) };
      break;
    case 'VOLUME': {
      const volumes = c.volumes.map((v, i) => word(v, c.node.args[i]?.range));
      for (const [i, v] of volumes.entries()) {
        if (v.trim() === '') throw planError(ctx, c.node.args[i]?.range ?? c.node.range, 'VOLUME specified can not be an empty string');
      }
      out = { ...c, volumes };
      break;
    }
    case 'ARG':
      out = { ...c, args: c.args.map((a) => (a.value === undefined ? { ...a } : { name: a.name, value: word(a.value) })) };
      break;
    case 'RUN': {
      const mountFlags = c.mountFlags.map((m) => word(m, mountFlagRange(c.node, m)));
      const mounts = mountFlags.map((m, i) => {
        try {
          return parseMount(m);
        } catch (e) {
          if (e instanceof MountSpecError) throw planError(ctx, mountFlagRange(c.node, c.mountFlags[i]!) ?? c.node.range, e.message, e.hint);
          throw e;
        }
      });
      out = { ...c, mountFlags, mounts };
      break;
    }
    case 'CMD':
    case 'ENTRYPOINT':
    case 'SHELL':
    case 'HEALTHCHECK':
    case 'MAINTAINER':
    case 'ONBUILD':
      out = { ...c };
      break;
  }
  return { cmd: out as C, matched, unmatched };
}

/** Checks one EXPOSE word as docker/go-connections nat.ParsePortSpec does (after expansion). */
export function validatePort(spec: string, fail: (message: string) => PlanError): void {
  const slash = spec.lastIndexOf('/');
  const port = slash < 0 ? spec : spec.slice(0, slash);
  const proto = slash < 0 ? 'tcp' : spec.slice(slash + 1);
  if (!['tcp', 'udp', 'sctp'].includes(proto.toLowerCase())) throw fail(`invalid proto: ${proto}`);
  const m = /^(\d+)(?:-(\d+))?$/.exec(port);
  if (!m || Number(m[1]) > 65535 || (m[2] !== undefined && (Number(m[2]) > 65535 || Number(m[2]) < Number(m[1])))) {
    throw fail(`invalid containerPort: ${port}`);
  }
}
