// The Timeline panel: the filter toolbar, the canvas timeline, the selected call's details and the hover
// tooltip. It owns the filter mask, the selection and following live, and keeps them in the saved state.

import type { ToViewer, ViewerState } from '../protocol/webview-messages';
import { MatchMask, isActive, type CallFilter } from './call-filter';
import { renderDetails, linkedFrames } from './call-details';
import { FilterBar } from './filter-bar';
import { formatCount, formatDuration } from './format';
import type { KeyBinding } from './keymap';
import type { Notice, PanelContext, StoreChange, ViewerPanel } from './panel';
import { Timeline, type Hit } from './timeline';
import { callTooltip, frameTooltip, renderFrameDetails } from './timeline-hover';
import { timelineKeys } from './timeline-keys';
import { viewAsPng, viewAsSvg } from './view-export';
import { Waterfall } from './waterfall';

/** While records stream in, the window glides with the host clock for at most this long after a chunk. */
const GLIDE_MS = 1000;

export class TimelinePanel implements ViewerPanel {
  readonly id = 'timeline';
  readonly title = 'Timeline';
  readonly key = 't';
  readonly keys: readonly KeyBinding[];
  readonly timeline: Timeline;
  readonly mask: MatchMask;
  private readonly bar: FilterBar;
  private readonly box = document.createElement('div');
  private readonly details = document.createElement('div');
  private readonly tooltip = document.createElement('div');
  readonly waterfall = new Waterfall();
  private shown = false;
  private lastChunkAt = -Infinity;
  /** The saved window, in host ns: placed once the first call fixes the store's base. */
  private pendingWindow: ViewerState['window'];

  constructor(private readonly ctx: PanelContext) {
    const state = ctx.state;
    this.mask = new MatchMask(ctx.store);
    this.mask.set(state.filter);
    this.pendingWindow = state.window;
    this.bar = new FilterBar(state.filter, state.follow, {
      setFilter: (patch) => this.setFilter({ ...ctx.state.filter, ...patch }),
      stepMatch: (dir) => this.stepMatch(dir),
      setFollow: (on) => this.setFollow(on),
      fit: () => this.fit(),
      saveImage: (format) => this.saveImage(format),
      exportTrace: () => ctx.host.post({ type: 'export' }),
      toggleKeyHelp: () => ctx.toggleKeyHelp(),
    });
    this.details.className = 'details';
    this.tooltip.className = 'tooltip';
    this.tooltip.hidden = true;
    this.box.className = 'timeline-box';
    const tl = document.createElement('div');
    const main = document.createElement('div');
    main.className = 'timeline-main';
    main.append(tl, this.waterfall.element);
    this.box.append(main, this.details);
    this.timeline = new Timeline(tl, ctx.store, {
      select: (hit) => this.pick(hit),
      moved: (how) => this.moved(how),
      hover: (hit, x, y) => this.hover(hit, x, y),
      request: () => ctx.request(),
    });
    renderDetails(this.details, ctx.store, -1);
    const t = this.timeline;
    this.keys = timelineKeys({
      zoomBy: (f) => (t.zoomBy(f), t.userMoved('zoom')),
      panBy: (f) => (t.panBy(f), t.userMoved('pan')),
      scrollPages: (pages) => (t.scrollBy(t.canvas.clientHeight * pages), ctx.save()),
      toggleAligned: () => {
        t.setAligned(!t.aligned);
        ctx.save();
      },
      fit: () => this.fit(),
      zoomToBrush: () => {
        if (!t.brush) return;
        t.setWindow(t.brush[0], t.brush[1]);
        t.clearBrush();
        ctx.save();
      },
      neighbour: (dir) => this.select(t.neighbour(dir)),
      stepMatch: (dir) => this.stepMatch(dir),
      toggleFollow: () => this.setFollow(!ctx.state.follow),
      clear: () => {
        t.clearBrush();
        this.select(-1);
      },
    });
  }

  mount(view: HTMLElement): void {
    view.append(this.bar.element, this.box);
    this.ctx.overlays.append(this.tooltip);
  }

  show(): void {
    this.shown = true;
  }

  hide(): void {
    this.shown = false;
    this.tooltip.hidden = true;
  }

  frame(): void {
    const { store, state } = this.ctx;
    const t = this.timeline;
    const following = state.follow && this.ctx.source.live && store.count > 0 && t.placed;
    // Between chunks the window glides with the host clock (extrapolated from the last arrival, at most
    // GLIDE_MS), so following live is smooth rather than a jump per chunk.
    const sinceChunk = performance.now() - this.lastChunkAt;
    if (following) {
      t.autoFit = false;
      t.followLive(Math.min(sinceChunk, GLIDE_MS) * 1e6);
    }
    t.mask = this.mask.mask;
    if (this.shown) {
      t.draw(this.ctx.palette());
      this.waterfall.update(store, t.segments, t.selected, t.width);
    }
    this.bar.updatePickers(store, state.filter);
    if (following && sinceChunk < GLIDE_MS) this.ctx.request();
  }

  onMessage(m: ToViewer): void {
    if (m.type !== 'reset') return;
    this.mask.set(this.ctx.state.filter);
    this.timeline.placed = false;
    this.timeline.autoFit = true;
    this.timeline.selected = -1;
    this.timeline.frame = -1;
  }

  onRecords(change: StoreChange): void {
    const { store, state } = this.ctx;
    const t = this.timeline;
    this.lastChunkAt = performance.now();
    this.mask.update();
    // dropping the oldest renumbers slots: keep the selection on the same call, or clear it if it went
    if ((change.droppedCalls || change.droppedFrames) && t.selected >= 0) {
      const s = t.selected - change.droppedCalls;
      t.selected = s;
      if (s < 0) this.select(-1);
      else t.linkedFrames = linkedFrames(store, s);
    }
    if (change.droppedFrames) t.frame = -1;
    if (this.pendingWindow && store.base !== null) {
      t.setWindow(this.pendingWindow.start - store.base, this.pendingWindow.end - store.base);
      t.autoFit = false;
      this.pendingWindow = null;
    }
    if (state.selectedSeq !== null && t.selected < 0) {
      const s = store.slotOfSeq(state.selectedSeq, false);
      if (s >= 0) this.select(s, false);
    }
  }

  status(): string[] {
    const parts: string[] = [];
    const brush = this.timeline.brush;
    if (brush && this.shown) parts.push(`range ${formatDuration(brush[1] - brush[0])}: ${formatCount(this.timeline.countIn(brush[0], brush[1]))} calls (Z zooms to it)`);
    if (isActive(this.ctx.state.filter)) parts.push(`${formatCount(this.mask.matches)} match`);
    return parts;
  }

  notices(): Notice[] {
    const s = this.timeline.stats;
    if (!this.shown || s.merged === 0) return [];
    return [{ kind: 'decimated', text: `Decimated: ${formatCount(s.merged)} of ${formatCount(s.visible)} visible calls are narrower than a pixel and merged per pixel column; zoom in to see each.` }];
  }

  beforeSave(state: ViewerState): void {
    const base = this.ctx.store.base;
    const t = this.timeline;
    state.window = t.placed && base !== null ? { start: base + t.t0, end: base + t.t1 } : this.pendingWindow;
  }

  /** A click: a call selects it; a frame selects the call that caused it and shows the frame's facts above. */
  private pick(hit: Hit | null): void {
    if (hit?.kind === 'frame') {
      const call = this.ctx.store.callOfFrame(hit.slot);
      this.select(call, false);
      this.timeline.frame = hit.slot;
      this.details.prepend(renderFrameDetails(this.ctx.store, hit.slot));
      return;
    }
    this.select(hit ? hit.slot : -1);
  }

  select(s: number, reveal = true): void {
    const { store, state } = this.ctx;
    const t = this.timeline;
    t.selected = s;
    t.frame = -1;
    t.linkedFrames = s >= 0 ? linkedFrames(store, s) : [];
    state.selectedSeq = s >= 0 ? store.seq[s]! : null;
    renderDetails(this.details, store, s);
    if (s >= 0) {
      if (reveal) t.reveal(s);
      this.ctx.host.post({ type: 'selectCall', seq: store.seq[s]! });
    }
    this.ctx.save();
    this.ctx.request();
  }

  private setFilter(f: CallFilter): void {
    this.ctx.state.filter = f;
    this.mask.set(f);
    this.ctx.save();
    this.ctx.request();
  }

  private stepMatch(dir: 1 | -1): void {
    const s = this.mask.step(this.timeline.selected, dir);
    if (s >= 0) this.select(s);
  }

  private setFollow(on: boolean): void {
    this.ctx.state.follow = on;
    this.bar.follow = on;
    this.ctx.save();
    this.ctx.request();
  }

  private fit(): void {
    this.timeline.fit();
    this.ctx.save();
  }

  /**
   * The user moved the view. A pan stops following live (it would move the view right back); a zoom
   * keeps it: the window's right edge stays on the newest records at the new width.
   */
  private moved(how: 'zoom' | 'pan'): void {
    if (how === 'pan' && this.ctx.state.follow && this.ctx.source.live) this.setFollow(false);
    this.ctx.save();
  }

  private hover(hit: Hit | null, x: number, y: number): void {
    if (!hit || !this.shown) {
      this.tooltip.hidden = true;
      return;
    }
    this.tooltip.dataset.kind = hit.kind;
    this.tooltip.textContent = hit.kind === 'frame' ? frameTooltip(this.ctx.store, hit.slot) : callTooltip(this.ctx.store, hit.slot);
    this.tooltip.hidden = false;
    this.tooltip.style.left = `${Math.min(x + 12, window.innerWidth - 320)}px`;
    this.tooltip.style.top = `${y + 14}px`;
  }

  private saveImage(format: 'png' | 'svg'): void {
    this.ctx.show(this.id);
    const tl = this.timeline;
    const palette = this.ctx.palette();
    tl.draw(palette);
    const data = format === 'png' ? viewAsPng(tl.canvas, tl.root.querySelector('svg.axis'), tl.root.querySelector('.legend'), palette) : viewAsSvg(this.ctx.store, tl.rowsLayout, tl.view(), palette, tl.marks, tl.root.querySelector('svg.axis'));
    this.ctx.host.post({ type: 'saveImage', format, data });
  }
}
