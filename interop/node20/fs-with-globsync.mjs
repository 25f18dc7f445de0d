// fs with a globSync for Node 20 (see globsync.mjs). It supports what the
// conformance CLI asks of it: patterns of "**", "*" and "?" segments under
// options.cwd, returning relative paths.
import fs from 'node:fs';
import path from 'node:path';

export * from 'node:fs';

function segmentRegExp(seg) {
  const body = seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp('^' + body + '$');
}

function patternRegExp(pattern) {
  const parts = pattern.split('/').map((seg) => (seg === '**' ? '(?:.*/)?' : segmentRegExp(seg).source.slice(1, -1) + '/'));
  return new RegExp('^' + parts.join('').replace(/\/$/, '') + '$');
}

export function globSync(patterns, options = {}) {
  const cwd = options.cwd ? String(options.cwd) : process.cwd();
  const res = (Array.isArray(patterns) ? patterns : [patterns]).map(patternRegExp);
  const out = [];
  const walk = (rel) => {
    let entries;
    try {
      entries = fs.readdirSync(path.join(cwd, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = rel ? rel + '/' + e.name : e.name;
      if (res.some((re) => re.test(p))) out.push(p);
      if (e.isDirectory()) walk(p);
    }
  };
  walk('');
  return out;
}

export default { ...fs, globSync };
