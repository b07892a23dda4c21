// Which port a MAC address lives behind, learned from source addresses; bounded so that a guest
// spraying source MACs cannot grow it without limit (the oldest entry goes first).

export class LearningSwitch<Port> {
  private readonly table = new Map<number, Port>();

  constructor(private readonly maxEntries = 1024) {}

  learn(mac: number, port: Port): void {
    const known = this.table.get(mac);
    if (known === port) return;
    if (known !== undefined) this.table.delete(mac);
    else if (this.table.size >= this.maxEntries) {
      const oldest = this.table.keys().next();
      if (!oldest.done) this.table.delete(oldest.value);
    }
    this.table.set(mac, port);
  }

  /** The port behind `mac`, or undefined: flood. */
  lookup(mac: number): Port | undefined {
    return this.table.get(mac);
  }

  /** Forgets every address behind a port that went away. */
  forget(port: Port): void {
    for (const [mac, p] of this.table) if (p === port) this.table.delete(mac);
  }

  get size(): number {
    return this.table.size;
  }
}
