import { sameNameError, type Defined } from "../definitionSite.js";

/**
 * The names an env has seen, for one kind (specs, or flows). The first object
 * used under a name keeps it for the env's life; another object of the same
 * name is refused, since the env finds a spec's worker def (and its queue) by
 * the spec's name and would otherwise run one spec's jobs with another's.
 */
export class NameRegistry {
  private readonly owners = new Map<string, Defined>();

  constructor(
    private readonly kind: "JobSpec" | "Liveflow",
    private readonly envName: string,
  ) {}

  /** Throws `ConfigurationError` naming both definitions when another object holds `item`'s name. Changes nothing. */
  check(item: Defined): void {
    const owner = this.owners.get(item.name);
    if (owner !== undefined && owner !== item) throw sameNameError(this.kind, owner, item, `env "${this.envName}"`);
  }

  /** Takes `item`'s name (after `check` passed for everything the caller registers). */
  claim(item: Defined): void {
    if (!this.owners.has(item.name)) this.owners.set(item.name, item);
  }
}
