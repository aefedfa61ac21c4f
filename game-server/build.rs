//! Embeds `web/` into the binary: walks the directory and writes `$OUT_DIR/assets.rs`, a table of
//! `include_bytes!` entries with each file's URL path, content type and ETag.
//!
//! Why a build script and not a crate such as rust-embed: the table is ~80 lines with no dependency,
//! the ETag and content type are computed once at build time (nothing at start-up or per request),
//! and there is no debug-mode "read from disk" switch that would make tests serve something other
//! than what ships. A missing or empty `web/` still builds (a placeholder page stands in for
//! `index.html`), so the server never depends on the web client's progress to compile.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

/// Directories never embedded: tests and tooling of the web client, not part of what browsers load.
const SKIP_DIRS: &[&str] = &["node_modules", "test", "tests"];
/// Files never embedded.
const SKIP_FILES: &[&str] = &["package.json", "package-lock.json"];

const PLACEHOLDER: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Tetris</title></head>\n<body><p>The web client is not part of this build.</p></body></html>\n";

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let web = manifest.join("web");
    println!("cargo::rerun-if-changed=web");
    println!("cargo::rerun-if-changed=build.rs");

    let mut files = Vec::new();
    if web.is_dir() {
        collect(&web, &web, &mut files);
    }
    files.sort();

    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut code =
        String::from("/// Every embedded file, sorted by URL path.\npub static FILES: &[Asset] = &[\n");
    let mut has_index = false;
    for (url, path) in &files {
        let bytes = fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        has_index |= url == "/index.html";
        entry(&mut code, url, &format!("include_bytes!({:?})", path.display().to_string()), &bytes);
    }
    if !has_index {
        let placeholder = out_dir.join("placeholder-index.html");
        fs::write(&placeholder, PLACEHOLDER).expect("write placeholder index.html into OUT_DIR");
        let include = format!("include_bytes!({:?})", placeholder.display().to_string());
        entry(&mut code, "/index.html", &include, PLACEHOLDER.as_bytes());
    }
    code.push_str("];\n");
    fs::write(out_dir.join("assets.rs"), code).expect("write assets.rs into OUT_DIR");
}

fn entry(code: &mut String, url: &str, include: &str, bytes: &[u8]) {
    let _ = writeln!(
        code,
        "    Asset {{ path: {url:?}, bytes: {include}, content_type: {:?}, etag: \"\\\"{:016x}-{:x}\\\"\" }},",
        content_type(url),
        fnv1a(bytes),
        bytes.len()
    );
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            if !SKIP_DIRS.contains(&name.as_str()) {
                collect(root, &path, out);
            }
            continue;
        }
        if SKIP_FILES.contains(&name.as_str()) || name.ends_with(".test.js") || name.ends_with(".md") {
            continue;
        }
        let Ok(rel) = path.strip_prefix(root) else { continue };
        let url: String = rel.components().map(|c| format!("/{}", c.as_os_str().to_string_lossy())).collect();
        // Only plain URL-safe names: anything else would need percent-decoding to be reachable.
        if url.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '-' | '_')) {
            out.push((url, path));
        } else {
            println!(
                "cargo::warning=web/{} not embedded: name has characters outside [A-Za-z0-9._-]",
                rel.display()
            );
        }
    }
}

fn content_type(url: &str) -> &'static str {
    let ext = url.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        "webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

/// 64-bit FNV-1a: a stable content hash for ETags (not security-relevant).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
