import { hostname, networkInterfaces } from "node:os";

/** Decides which `Host` and `Origin` headers name the viewer itself. */
export interface HostGuard {
  /** True when `Host` names the viewer: a browser reached it by one of its own names, not through a rebound DNS name. */
  hostAllowed(header: string | undefined): boolean;
  /** True when `Origin` is missing (a non-browser client) or is the viewer's own page. */
  originAllowed(header: string | undefined): boolean;
}

const LOOPBACK_NAMES = ["127.0.0.1", "localhost", "[::1]"];
const WILDCARDS = new Set(["0.0.0.0", "[::]"]);
/** What a `Host` header may hold: a name or address and a port; anything else (userinfo, paths) is refused before parsing. */
const HOST_HEADER = /^[A-Za-z0-9.\-[\]:]+$/;

/**
 * The names a browser may use to reach a viewer that listens on `address`:`port`,
 * bound through the option `host`:
 * - its bound host and address;
 * - when bound to loopback, `127.0.0.1`, `localhost` and `[::1]`;
 * - when bound to a wildcard (`0.0.0.0`, `::`), also loopback names, this
 *   machine's interface addresses (read at each check) and its host name.
 * Every other name is what a DNS-rebinding page would send, so it is refused.
 *
 * @example
 * const guard = hostGuard({ host: "127.0.0.1", address: "127.0.0.1", port: 4477 });
 * guard.hostAllowed("localhost:4477"); // true
 * guard.hostAllowed("attacker.example:4477"); // false
 * guard.originAllowed("http://attacker.example"); // false
 */
export function hostGuard(bound: { host: string; address: string; port: number }): HostGuard {
  const fixed = new Set([normalize(bound.host), normalize(bound.address)].filter((name): name is string => name !== undefined));
  const wildcard = [...fixed].some((name) => WILDCARDS.has(name));
  if (wildcard || [...fixed].some(isLoopback)) for (const name of LOOPBACK_NAMES) fixed.add(name);
  const known = (name: string) => fixed.has(name) || (wildcard && machineNames().has(name));

  const hostAllowed = (header: string | undefined) => {
    if (!header || !HOST_HEADER.test(header)) return false;
    const parsed = parse(`http://${header}`);
    return parsed !== undefined && portOf(parsed) === bound.port && known(parsed.hostname);
  };
  return {
    hostAllowed,
    originAllowed(header) {
      if (header === undefined) return true;
      const parsed = parse(header);
      // The serialised origin of the viewer's page is exactly `http://host[:port]`; "null" and other schemes are foreign.
      return parsed !== undefined && parsed.protocol === "http:" && parsed.origin === header.toLowerCase() && hostAllowed(parsed.host);
    },
  };
}

/** The URL form of a host name or address (`::1` → `[::1]`, `LOCALHOST` → `localhost`), or undefined if it is none. */
function normalize(name: string): string | undefined {
  const bracketed = name.includes(":") && !name.startsWith("[") ? `[${name}]` : name;
  return parse(`http://${bracketed}`)?.hostname;
}

function isLoopback(name: string): boolean {
  return name === "localhost" || name === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(name);
}

function machineNames(): Set<string> {
  const names = new Set<string>();
  const own = normalize(hostname());
  if (own) names.add(own);
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) {
      // Link-local IPv6 addresses carry a zone (`%eth0`) a browser never sends in Host.
      const name = normalize(info.address.split("%")[0] ?? "");
      if (name) names.add(name);
    }
  }
  return names;
}

function parse(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

function portOf(url: URL): number {
  return url.port === "" ? 80 : Number(url.port);
}
