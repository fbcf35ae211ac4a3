// Small DOM helpers shared by the pages. Text from the engine or from strangers (message previews, titles,
// nicknames, errors) only ever reaches the page through textContent or attributes, never innerHTML: these
// helpers offer no way to parse HTML.

/** The element with this id, of the expected kind; a missing element is a bug in the page, reported loudly. */
export function byId<T extends HTMLElement = HTMLElement>(id: string, kind?: new () => T): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`missing #${id}`);
  if (kind && !(element instanceof kind)) throw new Error(`#${id} is not a ${kind.name}`);
  return element as T;
}

/** Creates an element with a class and plain text content. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string | null, text?: string | null): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined && text !== null) element.textContent = text;
  return element;
}

export function show(element: HTMLElement, visible: boolean): void {
  element.hidden = !visible;
}

/** Copies text to the clipboard; false when the page may not (the caller then selects the text instead). */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** Selects an element's text so the user can copy it by hand. */
export function selectText(element: HTMLElement): void {
  const selection = window.getSelection();
  if (!selection) return;
  const range = document.createRange();
  range.selectNodeContents(element);
  selection.removeAllRanges();
  selection.addRange(range);
}
