//! Generates the Hero Health client from `openapi/hero-public-api.yaml` into `OUT_DIR`
//! (`codegen.rs`, included by `src/generated.rs`, and `surface.txt`, the one-page listing the
//! snapshot tests review). The work itself is the `hero-health-codegen` crate (`codegen/`), which
//! the xtask uses too.

use hero_health_codegen as codegen;

use std::path::PathBuf;

fn main() {
    // Rerun only when the document changes (a change to the generator crate rebuilds the script).
    println!("cargo::rerun-if-changed={}", codegen::SPEC_PATH);
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    let generated = match codegen::generate_file(&root.join(codegen::SPEC_PATH)) {
        Ok(generated) => generated,
        Err(error) => {
            // A plain message instead of a panic backtrace: it names the operation and the fix.
            eprintln!("error: {}: {error}", codegen::SPEC_PATH);
            std::process::exit(1);
        }
    };
    let files = [
        ("codegen.rs", &generated.code),
        ("surface.txt", &generated.surface),
        ("mock_examples.json", &generated.mock_examples),
        ("mock_requests.json", &generated.mock_requests),
        ("operations.rs", &generated.operations),
        ("pages.rs", &generated.pages),
        ("decoders.rs", &generated.decoders),
    ];
    for (name, text) in files {
        if let Err(e) = std::fs::write(out.join(name), text) {
            eprintln!("error: cannot write {name} to OUT_DIR: {e}");
            std::process::exit(1);
        }
    }
}
