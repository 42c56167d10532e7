#!/usr/bin/env node
// `node scripts/run.mjs <entry> [args...]`, what the package.json scripts run: the same as scripts/run.js, which it runs.
import './run.js';
