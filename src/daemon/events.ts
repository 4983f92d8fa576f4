/**
 * The daemon's event log for GET /events: container and image events in dockerd's JSON shape
 * (`Type`, `Action`, `Actor{ID, Attributes}`, `status`, `id`, `from`, `time`, `timeNano`),
 * kept in memory (the last 1000) and fanned out to the streaming subscribers. `matches`
 * applies dockerd's filters (type, event/action, container, image, label).
 */
import type { Container } from '../containers/manager.js';
import type { Filters } from './filters.js';
import { labelMatches } from '../api/filters.js';

export interface DaemonEvent {
  Type: 'container' | 'image' | 'volume' | 'network' | 'daemon';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  status?: string;
  id?: string;
  from?: string;
}

const KEEP = 1000;

export class EventLog {
  private readonly past: DaemonEvent[] = [];
  private readonly subscribers = new Set<(e: DaemonEvent) => void>();

  emit(e: Omit<DaemonEvent, 'time' | 'timeNano' | 'scope'>): void {
    const ns = BigInt(Date.now()) * 1_000_000n;
    const full: DaemonEvent = { ...e, scope: 'local', time: Number(ns / 1_000_000_000n), timeNano: Number(ns) };
    this.past.push(full);
    if (this.past.length > KEEP) this.past.shift();
    for (const s of this.subscribers) s(full);
  }

  /** A container event with dockerd's attributes (name, image, labels; exitCode for die). */
  container(action: string, c: Container, extra: Record<string, string> = {}): void {
    const attrs = { ...(c.config.settings?.labels ?? {}), image: c.config.image, name: c.name, ...extra };
    this.emit({ Type: 'container', Action: action, Actor: { ID: c.id, Attributes: attrs }, status: action, id: c.id, from: c.config.image });
  }

  image(action: string, id: string, name: string): void {
    this.emit({ Type: 'image', Action: action, Actor: { ID: id, Attributes: { name } }, status: action, id: name || id });
  }

  history(): DaemonEvent[] {
    return [...this.past];
  }

  subscribe(fn: (e: DaemonEvent) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }
}

/** Whether `e` passes dockerd's event filters. */
export function matches(e: DaemonEvent, f: Filters): boolean {
  if (f.has('type') && !f.get('type')!.includes(e.Type)) return false;
  if (f.has('event') && !f.get('event')!.some((a) => e.Action === a || e.Action.startsWith(`${a}:`))) return false;
  const attrs = e.Actor.Attributes;
  if (f.has('container') && !(e.Type === 'container' && f.get('container')!.some((x) => e.Actor.ID.startsWith(x) || attrs.name === x))) return false;
  if (f.has('image') && !f.get('image')!.some((x) => attrs.image === x || (e.Type === 'image' && (attrs.name === x || e.Actor.ID === x)))) return false;
  if (f.has('label') && !f.get('label')!.every((l) => labelMatches(attrs, l))) return false;
  return true;
}
