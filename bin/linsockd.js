#!/usr/bin/env node
// The host delegation daemon; the code lives in daemon/, bundled to dist/ by `npm run build`.
require('../dist/linsockd.js');
