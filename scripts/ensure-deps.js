#!/usr/bin/env node
// Install the npm dependencies when they are missing or older than package.json/package-lock.json, so the
// README's commands work on a fresh clone. Plain JS: it runs before tsx or TypeScript exist.
// `npm install`, not `npm ci`: npm 11 leaves other platforms' optional binaries (@swc/core-darwin-*, …)
// out of the lock file, and `npm ci` then refuses the lock as out of sync.
'use strict';
const { execSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const stamp = path.join(root, 'node_modules', '.reelay-deps-sha256');
const digest = () =>
  crypto
    .createHash('sha256')
    .update(fs.readFileSync(path.join(root, 'package.json')))
    .update(fs.readFileSync(path.join(root, 'package-lock.json')))
    .digest('hex');

const have = fs.existsSync(stamp) ? fs.readFileSync(stamp, 'utf8').trim() : '';
if (have !== digest()) {
  console.log('Installing npm dependencies…');
  execSync('npm install --no-audit --no-fund', { cwd: root, stdio: 'inherit' });
  fs.writeFileSync(stamp, digest() + '\n');
}
