# Idempotent installers shared by scripts/run and scripts/test (sourced, not executed).
# Debian/Ubuntu: installs what is missing with apt-get (as root, or through sudo).
# Elsewhere: prints what to install and stops.

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        say "need root for: $*"; return 1; fi
}

# ensure_apt pkg... : installs the packages that are not installed yet (one apt-get update at most).
ensure_apt() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null; then
        say "not a Debian/Ubuntu system: please install the equivalents of: ${missing[*]}"
        return 1
    fi
    say "installing ${missing[*]}"
    if [ -z "${DINGBRIDGE_APT_UPDATED:-}" ]; then
        as_root apt-get update -qq
        export DINGBRIDGE_APT_UPDATED=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_rust() {
    if ! command -v cargo >/dev/null; then
        say "Rust is not installed: install it with rustup (https://rustup.rs), then re-run"
        return 1
    fi
}

# Build tools every Rust crate here needs (SQLite is bundled and compiled from C).
BUILD_PACKAGES=(build-essential pkg-config)
# GTK/WebKit headers for the Tauri desktop app (src-tauri).
GUI_PACKAGES=(libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev)
# Browser + X server + D-Bus for the UI and WebDriver tests; CJK fonts so screenshots show the demo text.
# gnome-keyring + libsecret-tools: a real Secret Service for the keychain tests and `secret-tool` to check it.
TEST_PACKAGES=(xvfb xauth dbus dbus-x11 gnome-keyring libsecret-tools chromium webkit2gtk-driver fonts-wqy-microhei)

ensure_node() {
    command -v node >/dev/null && command -v npm >/dev/null && return 0
    ensure_apt nodejs npm
}

# npm dependencies (playwright-core only; it drives the system Chromium, no browser download).
ensure_npm_deps() {
    ensure_node
    local stamp=node_modules/.package-lock.json
    if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
        say "installing npm dev dependencies"
        npm ci --no-audit --no-fund --loglevel=error
    fi
}

ensure_tauri_driver() {
    command -v tauri-driver >/dev/null && return 0
    [ -x "$HOME/.cargo/bin/tauri-driver" ] && return 0
    say "installing tauri-driver (WebDriver bridge for the desktop window tests)"
    cargo install tauri-driver --locked --quiet
}
