#!/usr/bin/env node
// Checks the UI message catalogues (ui/i18n/<lang>.json) against each other and against the code:
//   - every catalogue has every key, each a non-empty string, and no key is only in some;
//   - the {placeholders} of a key are the same in every language;
//   - a plural group (`key.one`, `key.other`, ...) always has `.other`;
//   - every key the pages use exists (data-i18n* attributes in ui/*.html; t / tn / tNodes / localize /
//     pluralKey calls in ui/src/*.ts);
//   - no key is unused: a key counts as used when it appears as a whole string literal in ui/src, in a
//     data-i18n* attribute, or (tray.* / notify.*) as a string literal in src-tauri/src. Until src-tauri reads
//     the catalogues at all, unused tray.* / notify.* keys are reported as warnings, not errors.
//
//   node scripts/check-i18n.mjs [--root DIR]     exit 1 on any error
//
// Also importable: `checkCatalogues(input)` and `loadProject(root)` (tests/ui/i18n-check.test.mjs).

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import ts from 'typescript';

const PLURAL_CATEGORIES = new Set(['zero', 'one', 'two', 'few', 'many', 'other']);
const DESKTOP_PREFIXES = ['tray.', 'notify.'];
const ATTRIBUTE = /data-i18n(?:-placeholder|-title|-aria-label|-content)?="([^"]+)"/g;
const CALL = /\b(?:t|tn|tNodes|localize|pluralKey)\(\s*(?:[A-Za-z_$][\w$.]*\s*,\s*)?'([^']+)'/g;

/** The string literals of a TypeScript file, from TypeScript's own parser (comments and templates skipped). */
function stringLiterals(text) {
  const source = ts.createSourceFile('file.ts', text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const literals = [];
  const visit = (node) => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) literals.push(node.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return literals;
}

const placeholders = (text) => [...text.matchAll(/\{([a-z_][a-z0-9_]*)\}/gi)].map((m) => m[1]).sort();
const pluralBase = (key) => {
  const dot = key.lastIndexOf('.');
  return dot > 0 && PLURAL_CATEGORIES.has(key.slice(dot + 1)) ? key.slice(0, dot) : null;
};

/**
 * @param {{catalogues: Record<string, Record<string, unknown>>, html: {path: string, text: string}[],
 *          scripts: {path: string, text: string}[], desktop: {path: string, text: string}[]}} input
 * @returns {{errors: string[], warnings: string[]}}
 */
export function checkCatalogues({ catalogues, html, scripts, desktop }) {
  const errors = [];
  const warnings = [];
  const languages = Object.keys(catalogues).sort();
  if (languages.length === 0) return { errors: ['no catalogue found'], warnings };

  const allKeys = new Set(languages.flatMap((lang) => Object.keys(catalogues[lang])));
  for (const key of [...allKeys].sort()) {
    const texts = {};
    for (const lang of languages) {
      const value = catalogues[lang][key];
      if (value === undefined) errors.push(`${lang}: missing key "${key}"`);
      else if (typeof value !== 'string' || value.trim() === '') errors.push(`${lang}: "${key}" is not a non-empty string`);
      else texts[lang] = value;
    }
    const shapes = Object.entries(texts).map(([lang, text]) => [lang, placeholders(text).join(',')]);
    const first = shapes[0];
    for (const [lang, shape] of shapes.slice(1)) {
      if (first && shape !== first[1]) {
        errors.push(`"${key}": placeholders differ: ${first[0]} {${first[1]}} vs ${lang} {${shape}}`);
      }
    }
    const base = pluralBase(key);
    if (base && !allKeys.has(`${base}.other`)) errors.push(`"${key}": plural group "${base}" has no ".other"`);
  }

  // Keys the pages ask for must exist.
  const asked = [];
  for (const file of html) for (const m of file.text.matchAll(ATTRIBUTE)) asked.push([file.path, m[1]]);
  for (const file of scripts) for (const m of file.text.matchAll(CALL)) asked.push([file.path, m[1]]);
  for (const [file, key] of asked) {
    const exists = allKeys.has(key) || allKeys.has(`${key}.other`);
    if (!exists) errors.push(`${file}: uses unknown key "${key}"`);
  }

  // Every key must be used somewhere.
  const used = new Set(asked.map(([, key]) => key));
  for (const file of scripts) {
    for (const literal of stringLiterals(file.text)) used.add(literal);
  }
  const desktopReadsCatalogues = desktop.some((file) => /i18n\/[\w-]+\.json/.test(file.text));
  for (const file of desktop) {
    for (const m of file.text.matchAll(/"([^"\\\n]+)"/g)) used.add(m[1]);
  }
  const pending = [];
  for (const key of [...allKeys].sort()) {
    const base = pluralBase(key);
    if (used.has(key) || (base && used.has(base))) continue;
    if (DESKTOP_PREFIXES.some((prefix) => key.startsWith(prefix))) {
      if (desktopReadsCatalogues) errors.push(`unused key "${key}" (not found in src-tauri/src)`);
      else pending.push(key);
    } else {
      errors.push(`unused key "${key}"`);
    }
  }
  if (pending.length > 0) {
    warnings.push(`${pending.length} tray.* / notify.* keys are not checked for use: src-tauri/src does not read the catalogues yet`);
  }
  return { errors, warnings };
}

async function filesUnder(dir, extension) {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch {
    return [];
  }
  const files = entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(extension))
    .map((entry) => path.join(entry.parentPath ?? entry.path, entry.name))
    .sort();
  return Promise.all(files.map(async (file) => ({ path: file, text: await readFile(file, 'utf8') })));
}

/** Reads a project laid out like this repository (ui/i18n, ui/*.html, ui/src, src-tauri/src). */
export async function loadProject(root) {
  const catalogues = {};
  for (const file of await filesUnder(path.join(root, 'ui', 'i18n'), '.json')) {
    catalogues[path.basename(file.path, '.json')] = JSON.parse(file.text);
  }
  const html = (await filesUnder(path.join(root, 'ui'), '.html')).filter((file) => path.dirname(file.path) === path.join(root, 'ui'));
  const scripts = await filesUnder(path.join(root, 'ui', 'src'), '.ts');
  const desktop = await filesUnder(path.join(root, 'src-tauri', 'src'), '.rs');
  return { catalogues, html, scripts, desktop };
}

async function main() {
  const flag = process.argv.indexOf('--root');
  const root = flag > 0 ? path.resolve(process.argv[flag + 1] ?? '.') : fileURLToPath(new URL('..', import.meta.url));
  const { errors, warnings } = checkCatalogues(await loadProject(root));
  for (const warning of warnings) console.warn(`check-i18n: warning: ${warning}`);
  for (const error of errors) console.error(`check-i18n: ${error}`);
  if (errors.length > 0) {
    console.error(`check-i18n: ${errors.length} problem(s) in the UI message catalogues`);
    process.exit(1);
  }
  console.log('check-i18n: catalogues complete and consistent');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
