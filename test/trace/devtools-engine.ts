// Chrome DevTools' trace engine (the Performance panel's models/trace, published for Node as
// @paulirish/trace_engine) as a second independent consumer of the Chrome JSON: it builds each thread's
// tree of slices and silently leaves out a slice that starts inside its parent but ends after it (its
// treify()), so every X event that is not a node of its thread's tree is one that does not nest.

interface TraceEntryNode {
  children: Iterable<TraceEntryNode>;
}

interface EngineThread {
  name?: string;
  entries: unknown[];
  tree?: { roots: Iterable<TraceEntryNode> };
}

interface Engine {
  analyzeEvents(events: unknown[]): Promise<{ parsedTrace: { data: { Renderer: { processes: Map<number, { threads: Map<number, EngineThread> }> } } } }>;
}

export interface EngineView {
  /** Thread names the engine found, with how many slices it read and how many it placed in the thread's tree. */
  threads: { name: string; entries: number; nodes: number }[];
}

export async function devtoolsView(events: unknown[]): Promise<EngineView> {
  // ESM-only package; analyze-trace.mjs installs the DOMRect polyfill the engine needs outside a browser.
  const engine = (await import('@paulirish/trace_engine/analyze-trace.mjs' as string)) as Engine;
  const { parsedTrace } = await engine.analyzeEvents(events);
  const threads: EngineView['threads'] = [];
  for (const p of parsedTrace.data.Renderer.processes.values())
    for (const t of p.threads.values()) {
      let nodes = 0;
      const walk = (n: TraceEntryNode): void => {
        nodes++;
        for (const c of n.children) walk(c);
      };
      for (const r of t.tree?.roots ?? []) walk(r);
      threads.push({ name: t.name ?? '', entries: t.entries.length, nodes });
    }
  return { threads };
}
