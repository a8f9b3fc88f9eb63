/**
 * A read-only map of a node's tags (shared per spec) to its per-job ports:
 * two small arrays instead of a `Map` per job, since every job has one for
 * its inputs and one for its outputs, and most have a single tag.
 */
export class PortMap<V> implements ReadonlyMap<string, V> {
  constructor(
    private readonly tags: readonly string[],
    private readonly ports: readonly V[],
  ) {}

  get size(): number {
    return this.tags.length;
  }

  get(tag: string): V | undefined {
    const index = this.tags.indexOf(tag);
    return index < 0 ? undefined : this.ports[index];
  }

  has(tag: string): boolean {
    return this.tags.includes(tag);
  }

  forEach(callback: (value: V, key: string, map: ReadonlyMap<string, V>) => void, thisArg?: unknown): void {
    this.tags.forEach((tag, i) => callback.call(thisArg, this.ports[i]!, tag, this));
  }

  keys(): MapIterator<string> {
    return this.tags.values();
  }

  values(): MapIterator<V> {
    return this.ports.values();
  }

  *entries(): MapIterator<[string, V]> {
    for (let i = 0; i < this.tags.length; i++) yield [this.tags[i]!, this.ports[i]!];
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }
}

const tagLists = new WeakMap<object, readonly string[]>();

/** The tags of a spec's schema record, one shared array per record. */
export function tagsOf(schemas: Readonly<Record<string, unknown>>): readonly string[] {
  let tags = tagLists.get(schemas);
  if (!tags) tagLists.set(schemas, (tags = Object.freeze(Object.keys(schemas))));
  return tags;
}
