// The memory of every guest region mapped into the daemon (host-shm.ts), so that send data that is a view
// of a guest's ring is told apart from the daemon's own buffers: such data is valid only while its frame
// is read (the guest reuses the space next), so it is written at once (tcp-stream.ts) or copied.

const regions = new WeakSet<ArrayBufferLike>();

export function addSharedPages(memory: ArrayBufferLike): void {
  regions.add(memory);
}

export function inSharedPages(data: Uint8Array): boolean {
  return regions.has(data.buffer);
}

/** `data`, or a copy of it when it lies in a guest's shared pages. */
export function ownedBytes(data: Uint8Array): Uint8Array {
  return regions.has(data.buffer) ? Buffer.from(data) : data;
}
