//! Where the dashboard's static files are: `--ui-dir`, `DINGBRIDGE_UI_DIR`, next to the executable
//! (`<exe dir>/ui`, for installed copies), or the source tree's `ui/` (development and CI).

use std::path::PathBuf;

pub fn resolve(explicit: Option<PathBuf>) -> Option<PathBuf> {
    let candidates = explicit
        .into_iter()
        .chain(std::env::var_os("DINGBRIDGE_UI_DIR").map(PathBuf::from))
        .chain(
            std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(|dir| dir.join("ui"))),
        )
        .chain(std::iter::once(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui"),
        ));
    candidates
        .into_iter()
        .find(|candidate| candidate.join("index.html").is_file())
}
