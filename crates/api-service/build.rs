//! Embeds the built tenant portal (`portal/dist`, made by `make portal`) into the binary: writes
//! `$OUT_DIR/portal_assets.rs` with one `include_bytes!` per file. Without a build, the table is
//! empty and the portal answers 503 naming the command that builds it.

use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let dist = manifest.join("../../portal/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    println!("cargo:rerun-if-changed=build.rs");
    let mut files = Vec::new();
    if dist.is_dir() {
        collect(&dist, &dist, &mut files);
    } else {
        println!(
            "cargo:warning=portal/dist is not built: the portal will answer 503 (run `make portal`)"
        );
    }
    files.sort();
    let mut out = String::from(
        "/// Embedded portal files: (URL path, bytes).\npub static ASSETS: &[(&str, &[u8])] = &[\n",
    );
    for (url, path) in &files {
        out.push_str(&format!("    ({url:?}, include_bytes!({path:?})),\n"));
    }
    out.push_str("];\n");
    let dest =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("portal_assets.rs");
    std::fs::write(dest, out).expect("write portal_assets.rs");
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let entries = std::fs::read_dir(dir).expect("read portal/dist");
    for entry in entries {
        let path = entry.expect("read portal/dist entry").path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let rel = path.strip_prefix(root).expect("under dist");
            let url = format!("/{}", rel.to_string_lossy().replace('\\', "/"));
            let abs = path.canonicalize().expect("canonical path");
            files.push((url, abs.to_string_lossy().into_owned()));
        }
    }
}
