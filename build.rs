//! Build script: SONAME and version script for the shared library, and a
//! check that the hand-kept headers in include/ declare every exported
//! function exactly as the Rust code defines it (cbindgen prototypes compiled
//! together with the headers).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=include");
    println!("cargo:rerun-if-changed=rtpsynth.map");
    println!("cargo:rerun-if-changed=cbindgen.toml");

    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,librtpsynth.so.1");
        println!(
            "cargo:rustc-cdylib-link-arg=-Wl,--version-script={}",
            root.join("rtpsynth.map").display()
        );
    }

    let decls = out.join("rtpsynth_ffi_decls.h");
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    match cbindgen::Builder::new()
        .with_crate(&root)
        .with_config(config)
        .generate()
    {
        Ok(b) => {
            b.write_to_file(&decls);
        }
        Err(e) => panic!("cbindgen failed: {e}"),
    }
    check_headers(&root.join("include"), &decls, &out);
}

/// Compile every public header followed by the generated prototypes; the C
/// compiler rejects any prototype that conflicts with its header.
fn check_headers(include: &Path, decls: &Path, out: &Path) {
    let mut headers: Vec<_> = std::fs::read_dir(include)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    headers.retain(|p| p.extension().is_some_and(|x| x == "h"));
    headers.sort();
    let mut src = String::from("#include <sys/types.h>\n#include <sys/socket.h>\n");
    for h in &headers {
        src += &format!("#include \"{}\"\n", h.display());
    }
    src += &format!("#include \"{}\"\n", decls.display());
    let check = out.join("header_check.c");
    std::fs::write(&check, src).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let res = Command::new(&cc)
        .args(["-fsyntax-only", "-std=gnu11", "-Wall", "-Werror", "-I"])
        .arg(include)
        .arg(&check)
        .output();
    match res {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "include/*.h disagree with the Rust exports (cbindgen output in {}):\n{}",
            decls.display(),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => println!("cargo:warning=no C compiler ({cc}: {e}); header check skipped"),
    }
}
