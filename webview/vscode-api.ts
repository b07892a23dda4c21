// The webview's side of the message channel: typed postMessage and getState/setState over
// `acquireVsCodeApi()` (VS Code provides it; the test page provides a compatible shim).

import type { FromViewer, ViewerState } from '../protocol/webview-messages';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

export class Host {
  private readonly api: VsCodeApi;
  constructor() {
    // acquireVsCodeApi may be called once per page; keep the one instance here.
    this.api = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : { postMessage: () => undefined, getState: () => undefined, setState: () => undefined };
  }
  post(m: FromViewer): void {
    this.api.postMessage(m);
  }
  state(): Partial<ViewerState> | undefined {
    const s = this.api.getState();
    return typeof s === 'object' && s !== null ? (s as Partial<ViewerState>) : undefined;
  }
  save(s: ViewerState): void {
    this.api.setState(s);
  }
}
