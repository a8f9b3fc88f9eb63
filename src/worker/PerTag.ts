/**
 * Per-tag items of one attempt (input readers, output emitters), made on
 * first use. Most processors use one tag, so the first item sits in a field
 * and a Map is made only for a second tag. A base class, not a member: no
 * extra object per attempt.
 */
export abstract class PerTag<T extends { readonly tag: string }> {
  private first: T | undefined;
  private others: Map<string, T> | undefined;

  /** The item of `tag`, if made already. */
  protected cached(tag: string): T | undefined {
    return this.first?.tag === tag ? this.first : this.others?.get(tag);
  }

  /** Keeps a new item. */
  protected remember(item: T): T {
    if (!this.first) this.first = item;
    else (this.others ??= new Map()).set(item.tag, item);
    return item;
  }

  /** The one item made so far, when there is exactly one (undefined otherwise). */
  protected single(): T | undefined {
    return this.others ? undefined : this.first;
  }

  /** Every item made so far. */
  protected each(visit: (item: T) => void): void {
    if (this.first) visit(this.first);
    if (this.others) for (const item of this.others.values()) visit(item);
  }
}
