// The one client of the engine's control API, with two transports:
//  - "tauri-ipc" inside the desktop app: invoke('get_status') + listen('engine-event');
//  - "http" in a browser served by `dingbridged`: GET /api/status + EventSource('/api/events').
// Callers get the same three callbacks either way.

const MIN_REFRESH_INTERVAL_MS = 250; // at most 4 status fetches per second
const POLL_INTERVAL_MS = 5000; // safety net when no events arrive

/**
 * @param {object} handlers
 * @param {(status: object) => void} handlers.onStatus  every fresh StatusSnapshot
 * @param {(event: object) => void} handlers.onEvent    every engine Event ({type, ...})
 * @param {(link: {state: 'connecting'|'live'|'reconnecting'|'error', detail?: string}) => void} handlers.onLink
 * @returns {{transport: string, refresh: () => void}}
 */
export function connect({ onStatus, onEvent, onLink }) {
  const tauri = globalThis.__TAURI__;
  const transport = tauri ? tauriTransport(tauri) : httpTransport();

  // Throttled status refresh: one request in flight at a time, leading + trailing edge.
  let inFlight = false;
  let pending = false;
  let lastStart = 0;
  let timer = null;
  let link = 'connecting';
  const setLink = (state, detail) => {
    link = state;
    onLink({ state, detail });
  };

  function refresh() {
    if (inFlight) {
      pending = true;
      return;
    }
    const wait = lastStart + MIN_REFRESH_INTERVAL_MS - Date.now();
    if (wait > 0) {
      if (timer === null) {
        timer = setTimeout(() => {
          timer = null;
          refresh();
        }, wait);
      }
      return;
    }
    inFlight = true;
    pending = false;
    lastStart = Date.now();
    transport
      .getStatus()
      .then((status) => {
        onStatus(status);
        if (link === 'error') setLink('live');
      })
      .catch((error) => setLink('error', `status: ${describe(error)}`))
      .finally(() => {
        inFlight = false;
        if (pending) refresh();
      });
  }

  transport.subscribe({
    onEvent(event) {
      onEvent(event);
      refresh();
    },
    onOpen() {
      setLink('live');
      refresh(); // (re)connected: catch up on whatever happened while away
    },
    onTrouble(detail) {
      setLink('reconnecting', detail);
    },
  });

  setInterval(refresh, POLL_INTERVAL_MS);
  refresh();
  return { transport: transport.name, refresh };
}

function tauriTransport(tauri) {
  const { invoke } = tauri.core;
  const { listen } = tauri.event;
  return {
    name: 'tauri-ipc',
    getStatus: () => invoke('get_status'),
    subscribe({ onEvent, onOpen, onTrouble }) {
      listen('engine-event', (message) => onEvent(message.payload))
        .then(() => onOpen())
        .catch((error) => onTrouble(`listen: ${describe(error)}`));
    },
  };
}

function httpTransport() {
  return {
    name: 'http',
    async getStatus() {
      const response = await fetch('/api/status', { cache: 'no-store', headers: { Accept: 'application/json' } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return response.json();
    },
    subscribe({ onEvent, onOpen, onTrouble }) {
      // EventSource reconnects by itself; `open` fires again after each reconnect.
      const source = new EventSource('/api/events');
      source.addEventListener('open', () => onOpen());
      source.addEventListener('error', () => {
        onTrouble(source.readyState === EventSource.CLOSED ? 'event stream closed' : 'event stream reconnecting');
      });
      source.addEventListener('message', (message) => {
        let event;
        try {
          event = JSON.parse(message.data);
        } catch {
          return; // not an event (keep-alive or garbage): ignore
        }
        if (event && typeof event === 'object' && typeof event.type === 'string') onEvent(event);
      });
    },
  };
}

function describe(error) {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object' && typeof error.message === 'string') return error.message;
  return String(error);
}
