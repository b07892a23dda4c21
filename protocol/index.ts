// The shared vocabulary of every part of Linsock. Pure code: no I/O, no imports from the rest of the project.
export * from './errno';
export * from './wire';
export * from './trace';
export * from './trace-stream';
export * from './webview-messages';
export * from './wire-codec';
export * from './shm-ring';
export * from './shm-pipe';
export * from './shm-attach';
export * from './lstrace';
export * from './bytes';
export * from './format-bytes';
export * from './trace-format';
export * from './trace-formats';
export * from './comparison';
export * from './lab-offer';
export * from './interposer-trace';
