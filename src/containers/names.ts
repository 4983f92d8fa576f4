/**
 * Container names and IDs with Docker's rules: a name matches `[a-zA-Z0-9][a-zA-Z0-9_.-]+`
 * (daemon/names/names.go), an ID is 64 hex digits shown as its first 12, and a container without
 * `--name` gets a random `adjective_surname` (a small pick in the spirit of namesgenerator).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { BuildError } from '../errors.js';

/** Docker's restricted name pattern (a leading "/" is accepted and dropped). */
export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/**
 * Returns `name` without a leading "/" when it is valid. Throws BuildError INVALID_ARGUMENT
 * (`Invalid container name (x), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`) otherwise. Pure.
 */
export function validateName(name: string): string {
  const n = name.startsWith('/') ? name.slice(1) : name;
  if (!NAME_PATTERN.test(n)) {
    throw new BuildError('INVALID_ARGUMENT', `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`, {
      hint: 'a name starts with a letter or digit and has at least 2 characters',
    });
  }
  return n;
}

/** A new random container ID (64 lowercase hex digits). */
export function newContainerId(): string {
  return randomBytes(32).toString('hex');
}

/** The 12-digit form Docker shows. */
export function shortContainerId(id: string): string {
  return id.slice(0, 12);
}

const ADJECTIVES = ['admiring', 'brave', 'clever', 'dreamy', 'eager', 'focused', 'gallant', 'happy', 'jolly', 'keen', 'lucid', 'modest', 'nifty', 'optimistic', 'quirky', 'relaxed', 'serene', 'tender', 'upbeat', 'vibrant', 'wizardly', 'zealous'];
const SURNAMES = ['babbage', 'curie', 'darwin', 'euler', 'fermat', 'galileo', 'hopper', 'hypatia', 'kepler', 'lamport', 'lovelace', 'mccarthy', 'noether', 'pascal', 'ritchie', 'shannon', 'thompson', 'turing', 'wozniak', 'yalow'];

/** A random `adjective_surname` name; `attempt` > 0 appends a digit, as Docker does on retries. */
export function randomName(attempt = 0): string {
  const base = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${SURNAMES[randomInt(SURNAMES.length)]}`;
  return attempt > 0 ? `${base}${randomInt(10)}` : base;
}
