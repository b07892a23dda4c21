// The timeline's time axis above the tracks: the DOM of d3's axisTop (a domain path, then per tick a
// g.tick holding a line and a text), kept up to date in place. d3's axis rejoins its data and rewrites
// every attribute on each call, close to a millisecond a frame while zooming; this one reuses its tick
// elements and writes only what changed. The tick values come from the d3 scale, as before.

const SVG = 'http://www.w3.org/2000/svg';
/** d3-axis defaults: tick length, gap from tick to label, outer tick length. */
const TICK_SIZE = 6;
const TICK_PADDING = 3;

interface Tick {
  g: SVGGElement;
  text: SVGTextElement;
  transform: string;
  label: string;
}

export class TimeAxis {
  private readonly domain: SVGPathElement;
  private readonly ticks: Tick[] = [];
  private shown = 0;
  private domainPath = '';

  constructor(private readonly g: SVGGElement) {
    // what d3's axis sets on its group when it first draws into it
    g.setAttribute('fill', 'none');
    g.setAttribute('font-size', '10');
    g.setAttribute('font-family', 'sans-serif');
    g.setAttribute('text-anchor', 'middle');
    this.domain = document.createElementNS(SVG, 'path');
    this.domain.setAttribute('class', 'domain');
    this.domain.setAttribute('stroke', 'currentColor');
    g.append(this.domain);
  }

  /** Ticks at `values`, placed by `x` (px), labelled by `format`, along the range [r0, r1] px. */
  update(values: readonly number[], x: (v: number) => number, format: (v: number) => string, r0: number, r1: number): void {
    // d3 moves lines half a pixel onto the pixel grid on a low-density screen
    const offset = window.devicePixelRatio > 1 ? 0 : 0.5;
    const d = `M${r0 + offset},${-TICK_SIZE}V${offset}H${r1 + offset}V${-TICK_SIZE}`;
    if (d !== this.domainPath) this.domain.setAttribute('d', (this.domainPath = d));
    for (let i = 0; i < values.length; i++) {
      const t = this.ticks[i] ?? this.addTick();
      if (i >= this.shown) this.g.append(t.g);
      const v = values[i]!;
      const transform = `translate(${+x(v) + offset},0)`;
      if (transform !== t.transform) t.g.setAttribute('transform', (t.transform = transform));
      const label = format(v);
      if (label !== t.label) t.text.textContent = t.label = label;
    }
    for (let i = values.length; i < this.shown; i++) this.ticks[i]!.g.remove();
    this.shown = values.length;
  }

  private addTick(): Tick {
    const g = document.createElementNS(SVG, 'g');
    g.setAttribute('class', 'tick');
    g.setAttribute('opacity', '1');
    const line = document.createElementNS(SVG, 'line');
    line.setAttribute('stroke', 'currentColor');
    line.setAttribute('y2', String(-TICK_SIZE));
    const text = document.createElementNS(SVG, 'text');
    text.setAttribute('fill', 'currentColor');
    text.setAttribute('y', String(-(TICK_SIZE + TICK_PADDING)));
    text.setAttribute('dy', '0em');
    g.append(line, text);
    const t: Tick = { g, text, transform: '', label: '' };
    this.ticks.push(t);
    return t;
  }
}
