// Which remote endpoints a guest may connect or send to, and where it may bind and listen. Rules from the
// config come first (first match wins); then the defaults (DEFAULT_RULES), which deny what would let a
// guest act as the host or as someone else: the host's own services (loopback, link-local, the host's own
// addresses), multicast and broadcast, privileged local ports, listeners on the host's loopback. Anything
// else is allowed. A denial names the rule that denied and the rule that would allow (README: Security).
import type { Endpoint } from '../../protocol';
import { inRange, parseAddress, parseRange, type Address, type AddressRange } from './address-range';
import { HostAddresses } from './host-addresses';

/** `bind` is the guest's bind (its local address and port, TCP and UDP); `listen` where a TCP socket listens. */
export type PolicyOp = 'connect' | 'sendto' | 'listen' | 'bind';
export const POLICY_OPS: readonly PolicyOp[] = ['connect', 'sendto', 'listen', 'bind'];

/** A rule as written in the JSON config. */
export interface PolicyRuleConfig {
  action: 'allow' | 'deny';
  /** The operations it applies to; all when absent. */
  ops?: PolicyOp[];
  /** Address ranges (`127.0.0.1`, `10.0.0.0/8`, `::1/128`); any address when absent. */
  cidr?: string | string[];
  /** A port (`80`), a range (`"1000-2000"` or `[1000, 2000]`); any port when absent. */
  ports?: number | string | [number, number];
}
export interface PolicyConfig {
  rules?: PolicyRuleConfig[];
}

interface Rule {
  allow: boolean;
  ops: ReadonlySet<PolicyOp>;
  ranges: AddressRange[] | null;
  /** A default rule's test of the address beyond its ranges (this host's own addresses, say). */
  test?: (a: Address, text: string) => boolean;
  /** What `test` matches, in words, for --check-config. */
  dynamic?: string;
  lo: number;
  hi: number;
  name: string;
}

export interface Decision {
  allowed: boolean;
  /** Which rule decided, for the log: `rule 2`, `default: host loopback and link-local`, `default: allow`. */
  by: string;
}

const ALL_OPS = new Set<PolicyOp>(POLICY_OPS);
const ops = (...o: PolicyOp[]): ReadonlySet<PolicyOp> => new Set(o);
const HOST_LOCAL = ['127.0.0.0/8', '0.0.0.0/8', '169.254.0.0/16', '::1/128', '::/128', 'fe80::/10'];
const MULTICAST = ['224.0.0.0/4', 'ff00::/8', '255.255.255.255/32'];
const LOOPBACK = ['127.0.0.0/8', '::1/128'];

/** The defaults, in order, after every configured rule. Each can be opened by an allow rule before it. */
function defaultRules(host: HostAddresses): Rule[] {
  return [
    { allow: false, ops: ops('connect', 'sendto'), ranges: HOST_LOCAL.map(parseRange), lo: 0, hi: 65535, name: 'default: host loopback and link-local' },
    // The host's own addresses reach its services as loopback does (a service bound to 0.0.0.0 answers there).
    { allow: false, ops: ops('connect', 'sendto'), ranges: [], test: (_a, t) => host.isOwn(t), dynamic: "this host's interface addresses", lo: 0, hi: 65535, name: "default: the host's own addresses" },
    { allow: false, ops: ops('connect', 'sendto'), ranges: MULTICAST.map(parseRange), test: (_a, t) => host.isSubnetBroadcast(t), dynamic: "this host's subnet broadcast addresses", lo: 0, hi: 65535, name: 'default: multicast and broadcast' },
    { allow: false, ops: ops('listen', 'bind'), ranges: null, lo: 1, hi: 1023, name: 'default: privileged port' },
    { allow: false, ops: ops('listen', 'bind'), ranges: LOOPBACK.map(parseRange), lo: 0, hi: 65535, name: "default: a listener on the host's loopback" },
  ];
}

const SHARED_HOST = new HostAddresses();

function parsePorts(p: PolicyRuleConfig['ports'], where: string): [number, number] {
  if (p === undefined) return [0, 65535];
  let lo: number, hi: number;
  if (typeof p === 'number') [lo, hi] = [p, p];
  else if (Array.isArray(p) && p.length === 2) [lo, hi] = [Number(p[0]), Number(p[1])];
  else if (typeof p === 'string' && /^\d+(-\d+)?$/.test(p)) {
    const [a = '', b] = p.split('-');
    [lo, hi] = [Number(a), Number(b ?? a)];
  } else throw new Error(`${where}: ports must be a port, "LO-HI" or [LO, HI], got ${JSON.stringify(p)}`);
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi > 65535 || lo > hi)
    throw new Error(`${where}: ports ${JSON.stringify(p)} is not a range within 0..65535`);
  return [lo, hi];
}

function compileRule(c: PolicyRuleConfig, i: number): Rule {
  const where = `policy rule ${i + 1}`;
  if (typeof c !== 'object' || c === null) throw new Error(`${where}: expected an object like {"action":"allow","cidr":"127.0.0.1","ports":8080}`);
  if (c.action !== 'allow' && c.action !== 'deny') throw new Error(`${where}: action must be "allow" or "deny", got ${JSON.stringify(c.action)}`);
  let ops = ALL_OPS;
  if (c.ops !== undefined) {
    if (!Array.isArray(c.ops) || !c.ops.every((o) => ALL_OPS.has(o)))
      throw new Error(`${where}: ops must be a list of ${POLICY_OPS.join(', ')}, got ${JSON.stringify(c.ops)}`);
    ops = new Set(c.ops);
  }
  let ranges: AddressRange[] | null = null;
  if (c.cidr !== undefined) {
    const list = Array.isArray(c.cidr) ? c.cidr : [c.cidr];
    ranges = list.map((t) => {
      if (typeof t !== 'string') throw new Error(`${where}: cidr must be a string or a list of strings`);
      try {
        return parseRange(t);
      } catch (e) {
        throw new Error(`${where}: ${(e as Error).message}`);
      }
    });
  }
  const [lo, hi] = parsePorts(c.ports, where);
  return { allow: c.action === 'allow', ops, ranges, lo, hi, name: `rule ${i + 1}` };
}

export class Policy {
  /** Rules added at run time by an embedding host (addRule), checked before the configured ones. */
  private runtime: Rule[] = [];
  /** The runtime rules as they were given, newest first: what a daemon's worker processes are sent. */
  private runtimeSources: PolicyRuleConfig[] = [];
  private readonly runtimeWatchers = new Set<(rules: PolicyRuleConfig[]) => void>();

  private constructor(
    private readonly rules: Rule[],
    private readonly host: HostAddresses,
    /** The config this policy was compiled from (its rules, before the defaults). */
    readonly source: PolicyConfig = {},
  ) {}

  /** The runtime rules now (newest first), as given to addRule. */
  runtimeRules(): PolicyRuleConfig[] {
    return [...this.runtimeSources];
  }

  /** Calls `fn` with the runtime rules after each addRule or removal, until the returned function stops it. */
  watchRuntime(fn: (rules: PolicyRuleConfig[]) => void): () => void {
    this.runtimeWatchers.add(fn);
    return () => void this.runtimeWatchers.delete(fn);
  }

  private runtimeChanged(): void {
    for (const fn of this.runtimeWatchers) fn(this.runtimeRules());
  }

  /** Whether the kernel would let a socket bind `address` (a wildcard, 127.x or one of this host's). */
  canBind(address: string): boolean {
    return this.host.bindable(address);
  }

  /**
   * Adds `rule` ahead of every other rule until the returned function removes it. For a host that embeds
   * the daemon and learns an address only at run time: `linsock start` allows a comparison run's bench
   * server for the length of that run. Throws like fromConfig on a bad rule.
   */
  addRule(rule: PolicyRuleConfig): () => void {
    const compiled = { ...compileRule(rule, 0), name: 'runtime rule' };
    this.runtime = [compiled, ...this.runtime];
    this.runtimeSources = [rule, ...this.runtimeSources];
    this.runtimeChanged();
    return () => {
      if (!this.runtime.includes(compiled)) return;
      this.runtime = this.runtime.filter((r) => r !== compiled);
      this.runtimeSources = this.runtimeSources.filter((r) => r !== rule);
      this.runtimeChanged();
    };
  }

  /** Compiles a config; throws an Error naming the first bad rule. */
  static fromConfig(config: PolicyConfig = {}, host: HostAddresses = SHARED_HOST): Policy {
    if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new Error('policy must be an object like {"rules":[...]}');
    if (config.rules !== undefined && !Array.isArray(config.rules)) throw new Error('policy.rules must be a list of rules');
    return new Policy([...(config.rules ?? []).map(compileRule), ...defaultRules(host)], host, config);
  }

  check(op: PolicyOp, target: Endpoint): Decision {
    const addr = parseAddress(target.address);
    if (!addr) return { allowed: false, by: 'not an IP address' };
    for (const r of this.runtime.length ? [...this.runtime, ...this.rules] : this.rules) {
      if (!r.ops.has(op) || target.port < r.lo || target.port > r.hi) continue;
      const inRanges = r.ranges === null || r.ranges.some((range) => inRange(addr, range));
      if (!inRanges && !(r.test?.(addr, target.address) ?? false)) continue;
      return { allowed: r.allow, by: r.name };
    }
    return { allowed: true, by: 'default: allow' };
  }

  /** The rules in force, in order (runtime rules first), as `linsockd --check-config` prints them. */
  describe(): string[] {
    const text = (r: Rule): string => {
      const where = r.ranges === null ? 'any address' : [...r.ranges.map((x) => x.text), ...(r.dynamic ? [r.dynamic] : [])].join(', ');
      const ports = r.lo === 0 && r.hi === 65535 ? 'any port' : r.lo === r.hi ? `port ${r.lo}` : `ports ${r.lo}-${r.hi}`;
      return `${r.name}: ${r.allow ? 'allow' : 'deny'} ${[...r.ops].join(',')} to ${where}, ${ports}`;
    };
    return [...this.runtime, ...this.rules].map(text).concat('default: allow everything else');
  }
}
