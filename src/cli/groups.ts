/**
 * docker's management commands (`mybuild image ls`, `mybuild container rm`, `mybuild buildx
 * build`, `mybuild builder prune`): each subcommand names the mybuild command (and leading
 * arguments) it runs, so `docker image ls` and `docker images` are one command here as there.
 * A docker subcommand mybuild does not have is listed with `null` and refused by name.
 * (`mybuild system` and `mybuild cache` are commands with subcommands of their own.)
 */
import { UsageError } from '../errors.js';

export interface Group {
  summary: string;
  /** subcommand → [command, ...leading args], or null: docker has it, mybuild does not. */
  subs: Record<string, string[] | null>;
}

export const GROUPS: Record<string, Group> = {
  image: {
    summary: 'Manage images',
    subs: {
      ls: ['images'], list: ['images'], inspect: ['inspect', '--type=image'], rm: ['rmi'], remove: ['rmi'], tag: ['tag'], pull: ['pull'], push: ['push'],
      save: ['save'], load: ['load'], import: ['import'], prune: ['prune'], history: null, build: ['build'],
    },
  },
  container: {
    summary: 'Manage containers',
    subs: {
      ls: ['ps'], list: ['ps'], ps: ['ps'], run: ['run'], logs: ['logs'], stop: ['stop'], kill: ['kill'], rm: ['rm'], remove: ['rm'],
      inspect: ['inspect', '--type=container'], exec: null, cp: null, prune: null, create: null, start: null, attach: null,
    },
  },
  builder: { summary: 'Manage builds', subs: { build: ['build'], prune: ['prune', '--build-cache'] } },
  buildx: { summary: 'Docker Buildx (build is "mybuild build")', subs: { build: ['build'], b: ['build'] } },
};

/** The help of `mybuild GROUP`: its subcommands and what each runs. */
export function groupHelp(name: string, summaries: Record<string, string>): string {
  const g = GROUPS[name];
  const subs = Object.entries(g.subs);
  const width = Math.max(...subs.map(([s]) => s.length));
  return [
    `Usage:  mybuild ${name} COMMAND`,
    '',
    g.summary,
    '',
    'Commands:',
    ...subs.map(([s, to]) => `  ${s.padEnd(width)}   ${to ? `${summaries[to[0]] ?? ''} ("mybuild ${to.join(' ')}")` : 'not supported by mybuild'}`),
    '',
    `Run 'mybuild ${name} COMMAND --help' for more information on a command.`,
    '',
  ].join('\n');
}

/** `image ls …` → `images …`; throws UsageError for a subcommand mybuild lacks or does not know. */
export function resolveGroup(name: string, args: string[]): { name: string; args: string[] } {
  const [sub, ...rest] = args;
  const g = GROUPS[name];
  if (sub === undefined || !Object.hasOwn(g.subs, sub)) {
    throw new UsageError(sub === undefined ? `"mybuild ${name}" requires a subcommand` : `unknown command "mybuild ${name} ${sub}"`, {
      hint: `${name} commands: ${Object.keys(g.subs).filter((s) => g.subs[s]).join(', ')} (see 'mybuild ${name} --help')`,
    });
  }
  const to = g.subs[sub];
  if (!to) throw new UsageError(`"mybuild ${name} ${sub}" is not supported by mybuild`, { hint: `${name} commands: ${Object.keys(g.subs).filter((s) => g.subs[s]).join(', ')}` });
  return { name: to[0], args: [...to.slice(1), ...rest] };
}
