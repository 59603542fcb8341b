#!/usr/bin/env node
// Install the npm dependencies when they are missing or older than package.json/package-lock.json, so the
// README's commands work on a fresh clone. Plain JS: it runs before tsx or TypeScript exist.
// A fresh clone (no node_modules) gets `npm ci`: exactly the lock file, as containers and CI install it. A
// checkout whose package.json or lock changed since the last install gets `npm install`, which keeps what is
// there and also accepts a package.json edited ahead of its lock.
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
  const fresh = !fs.existsSync(path.join(root, 'node_modules'));
  console.log(`Installing npm dependencies (npm ${fresh ? 'ci' : 'install'})…`);
  execSync(`npm ${fresh ? 'ci' : 'install'} --no-audit --no-fund`, { cwd: root, stdio: 'inherit' });
  fs.writeFileSync(stamp, digest() + '\n');
}
