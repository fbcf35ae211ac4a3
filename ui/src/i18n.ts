// Every word the user reads comes from one message catalogue per language (ui/i18n/<lang>.json, built into
// ui/js/i18n/<lang>.js). Static HTML names its keys in `data-i18n*` attributes; code calls `t` / `tn`, or
// `localize(element, key, params)`, which also records the key on the element so that switching the language
// re-translates the whole page in place. Sentences are whole templates with `{name}` placeholders, never
// concatenated parts; counts choose `key.one` / `key.other` with Intl.PluralRules; numbers, dates and times
// go through Intl in the page's language.

import type { Language } from './types.js';

export const LANGUAGES: readonly Language[] = ['en', 'zh-CN'];
const STORAGE_KEY = 'dingbridge.language';

type Catalogue = Record<string, string>;
export type Params = Record<string, string | number>;

let language: Language = 'en';
let catalogue: Catalogue = {};
let fallback: Catalogue = {};
let numberFormat = new Intl.NumberFormat('en');
let pluralRules = new Intl.PluralRules('en');
const listeners: ((language: Language) => void)[] = [];

export const currentLanguage = (): Language => language;

function asLanguage(value: unknown): Language | null {
  if (value === 'en' || value === 'zh-CN') return value;
  return null;
}

/** The browser's / OS's language, mapped onto the two the UI speaks (any Chinese → zh-CN). */
export function systemLanguage(): Language {
  const preferred = navigator.languages.length > 0 ? navigator.languages : [navigator.language];
  for (const tag of preferred) {
    const lower = tag.toLowerCase();
    if (lower.startsWith('zh')) return 'zh-CN';
    if (lower.startsWith('en')) return 'en';
  }
  return 'en';
}

/** The choice remembered in this browser/webview (instant start, before the settings arrive): null = auto. */
export function rememberedChoice(): Language | null | undefined {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (stored === null) return undefined;
    return stored === 'auto' ? null : asLanguage(stored);
  } catch {
    return undefined; // storage disabled
  }
}

export function rememberChoice(choice: Language | null): void {
  try {
    localStorage.setItem(STORAGE_KEY, choice ?? 'auto');
  } catch {
    // storage disabled: the saved setting still carries the choice
  }
}

async function load(lang: Language): Promise<Catalogue> {
  const module = (await import(`./i18n/${lang}.js`)) as { default: Catalogue };
  return module.default;
}

/** Loads a language and re-translates the page (and whatever registered with `onLanguageChange`). */
export async function setLanguage(lang: Language): Promise<void> {
  const [next, english] = await Promise.all([load(lang), lang === 'en' ? null : load('en')]);
  catalogue = next;
  fallback = english ?? next;
  language = lang;
  numberFormat = new Intl.NumberFormat(lang);
  pluralRules = new Intl.PluralRules(lang);
  document.documentElement.lang = lang;
  applyI18n(document);
  for (const listener of listeners) listener(lang);
}

/** Startup: the remembered choice, else the system language. */
export async function initLanguage(): Promise<void> {
  await setLanguage(rememberedChoice() ?? systemLanguage());
}

/** Follows the saved setting (null = auto) once it is known; reloads only when it differs. */
export async function followSetting(saved: string | null): Promise<void> {
  const choice = asLanguage(saved); // anything but the two known languages means "follow the system"
  rememberChoice(choice);
  const wanted = choice ?? systemLanguage();
  if (wanted !== language) await setLanguage(wanted);
}

export function onLanguageChange(listener: (language: Language) => void): void {
  listeners.push(listener);
}

// ---------- messages ----------

function lookup(key: string): string | undefined {
  return catalogue[key] ?? fallback[key];
}

function formatParam(value: string | number): string {
  return typeof value === 'number' ? numberFormat.format(value) : value;
}

/** Splits a template into literal text and placeholder names, in order. */
function parse(template: string): { text: string; param: string | null }[] {
  const parts: { text: string; param: string | null }[] = [];
  let last = 0;
  for (const match of template.matchAll(/\{([a-z_][a-z0-9_]*)\}/gi)) {
    const index = match.index ?? 0;
    if (index > last) parts.push({ text: template.slice(last, index), param: null });
    parts.push({ text: match[0], param: match[1] ?? null });
    last = index + match[0].length;
  }
  if (last < template.length) parts.push({ text: template.slice(last), param: null });
  return parts;
}

/** The message for `key` with `{name}` placeholders filled (numbers formatted for the language). */
export function t(key: string, params: Params = {}): string {
  const template = lookup(key);
  if (template === undefined) return key; // visible on purpose: the catalogue check and UI tests catch it
  return parse(template)
    .map((part) => {
      if (part.param === null) return part.text;
      const value = params[part.param];
      return value === undefined ? part.text : formatParam(value);
    })
    .join('');
}

/** The plural form of `key` for `count` (`key.one`, `key.other`, ...); `{count}` is available to it. */
export function tn(key: string, count: number, params: Params = {}): string {
  return t(pluralKey(key, count), { count, ...params });
}

/** The catalogue key of the plural form of `key` for `count`. */
export function pluralKey(key: string, count: number): string {
  const exact = `${key}.${pluralRules.select(count)}`;
  return lookup(exact) !== undefined ? exact : `${key}.other`;
}

/**
 * The message as DOM nodes: placeholders become text nodes (never parsed as HTML), those named in `strong`
 * wrapped in <strong>. For sentences that emphasise a name without splitting the sentence.
 */
export function tNodes(key: string, params: Params, strong: readonly string[] = []): DocumentFragment {
  const fragment = document.createDocumentFragment();
  const template = lookup(key) ?? key;
  for (const part of parse(template)) {
    const value = part.param === null ? undefined : params[part.param];
    if (part.param === null || value === undefined) {
      fragment.append(document.createTextNode(part.text));
    } else if (strong.includes(part.param)) {
      const bold = document.createElement('strong');
      bold.textContent = formatParam(value);
      fragment.append(bold);
    } else {
      fragment.append(document.createTextNode(formatParam(value)));
    }
  }
  return fragment;
}

// ---------- elements ----------

/** Sets an element's text from the catalogue and remembers the key, so a language switch re-translates it. */
export function localize(element: Element, key: string, params?: Params): void {
  element.setAttribute('data-i18n', key);
  if (params && Object.keys(params).length > 0) element.setAttribute('data-i18n-args', JSON.stringify(params));
  else element.removeAttribute('data-i18n-args');
  element.textContent = t(key, params);
}

function argsOf(element: Element): Params {
  const raw = element.getAttribute('data-i18n-args');
  if (!raw) return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    return parsed && typeof parsed === 'object' ? (parsed as Params) : {};
  } catch {
    return {};
  }
}

const ATTRIBUTES = [
  ['data-i18n-placeholder', 'placeholder'],
  ['data-i18n-title', 'title'],
  ['data-i18n-aria-label', 'aria-label'],
  ['data-i18n-content', 'content'],
] as const;

/** Translates every `data-i18n*` element under `root` (text, placeholder, title, aria-label). */
export function applyI18n(root: ParentNode): void {
  for (const element of root.querySelectorAll('[data-i18n]')) {
    const key = element.getAttribute('data-i18n');
    if (key) element.textContent = t(key, argsOf(element));
  }
  for (const [data, attribute] of ATTRIBUTES) {
    for (const element of root.querySelectorAll(`[${data}]`)) {
      const key = element.getAttribute(data);
      if (key) element.setAttribute(attribute, t(key));
    }
  }
  const title = document.querySelector('title[data-i18n]');
  if (title) document.title = title.textContent ?? document.title;
}

// ---------- numbers, durations, dates ----------

export const fmtNumber = (n: number | null | undefined): string =>
  typeof n === 'number' && Number.isFinite(n) ? numberFormat.format(n) : '—';

function unit(value: number, name: 'microsecond' | 'millisecond' | 'second', digits: number): string {
  return new Intl.NumberFormat(language, { style: 'unit', unit: name, unitDisplay: 'short', maximumFractionDigits: digits }).format(value);
}

/** Microseconds in the most readable unit (µs, ms, s). */
export function fmtMicros(us: number | null | undefined): string {
  if (typeof us !== 'number' || !Number.isFinite(us)) return '—';
  if (us < 1000) return unit(us, 'microsecond', 0);
  if (us < 1_000_000) return unit(us / 1000, 'millisecond', us < 10_000 ? 2 : 1);
  return unit(us / 1_000_000, 'second', 2);
}

export function fmtMillis(ms: number): string {
  return ms < 1000 ? unit(ms, 'millisecond', 0) : unit(ms / 1000, 'second', 1);
}

/** A span of time in two units ("3 min 4 s", "3 分 4 秒"). */
export function fmtDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return t('duration.seconds', { s });
  const min = Math.floor(s / 60);
  if (min < 60) return t('duration.minutes', { min, s: s % 60 });
  const h = Math.floor(min / 60);
  if (h < 48) return t('duration.hours', { h, min: min % 60 });
  return t('duration.days', { d: Math.floor(h / 24), h: h % 24 });
}

/** "5 sec. ago" / "5秒钟前"; "never" without a time. */
export function fmtAgo(atMs: number | null | undefined): string {
  if (typeof atMs !== 'number') return t('time.never');
  const relative = new Intl.RelativeTimeFormat(language, { numeric: 'always', style: 'short' });
  const s = Math.max(0, Math.round((Date.now() - atMs) / 1000));
  if (s < 60) return relative.format(-s, 'second');
  if (s < 3600) return relative.format(-Math.floor(s / 60), 'minute');
  if (s < 86400) return relative.format(-Math.floor(s / 3600), 'hour');
  return relative.format(-Math.floor(s / 86400), 'day');
}

/** A clock time with seconds (event feed). */
export function fmtClock(atMs: number): string {
  return new Intl.DateTimeFormat(language, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(new Date(atMs));
}

/** Today: the time; otherwise the date. */
export function fmtWhen(atMs: number | null | undefined): string {
  if (typeof atMs !== 'number') return '';
  const date = new Date(atMs);
  const today = new Date().toDateString() === date.toDateString();
  const options: Intl.DateTimeFormatOptions = today ? { hour: '2-digit', minute: '2-digit' } : { month: 'short', day: 'numeric' };
  return new Intl.DateTimeFormat(language, options).format(date);
}

/** "2026-12" → "December 2026" / "2026年12月". */
export function fmtMonth(month: string): string {
  const match = /^(\d{4})-(\d{2})$/.exec(month);
  if (!match) return month;
  const date = new Date(Number(match[1]), Number(match[2]) - 1, 1);
  return new Intl.DateTimeFormat(language, { year: 'numeric', month: 'long' }).format(date);
}

export function fmtPercent(ratio: number): string {
  return new Intl.NumberFormat(language, { style: 'percent', maximumFractionDigits: 0 }).format(ratio);
}
