#!/usr/bin/env node
// The lab command line (bench, record, export, start); the code lives in lab/, bundled to dist/ by `npm run build`.
require('../dist/linsock.js');
