//! The version is written in one place, `src/throng.app.src`; the Rust
//! crates repeat it in their manifests because Cargo needs a literal. These
//! tests fail when the copies drift apart, before any BEAM is involved.

use std::path::Path;

/// The `{vsn, "..."}` of the `throng` application resource file.
fn app_vsn() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/throng.app.src");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let rest = text.split("{vsn,").nth(1).unwrap_or_else(|| panic!("no {{vsn, ...}} in {}", path.display()));
    let start = rest.find('"').expect("vsn is a string") + 1;
    let len = rest[start..].find('"').expect("vsn string is closed");
    rest[start..start + len].to_owned()
}

#[test]
fn test_core_version_equals_app_vsn() {
    assert_eq!(throng_core::VERSION, app_vsn());
}

#[test]
fn test_nif_crate_version_equals_app_vsn() {
    assert_eq!(env!("CARGO_PKG_VERSION"), app_vsn());
}
