// node --import ./node20/globsync.mjs: @modelcontextprotocol/conformance
// imports globSync from "fs" by name, which Node 20 lacks (added in Node 22),
// so the import fails before the CLI starts. This registers a resolve hook
// that hands the conformance package a module re-exporting fs plus a small
// globSync. Test setup only: nothing in AgentScope itself uses it.
import fs from 'node:fs';
import { register } from 'node:module';

if (typeof fs.globSync !== 'function') {
  register('./hooks.mjs', import.meta.url);
}
