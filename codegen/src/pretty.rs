//! The generated code as people read it: formatted with prettyplease.
//!
//! Behind the `pretty` feature: `hero-health`'s build script writes the compact token text (rustc
//! reads it the same), so users' builds neither compile prettyplease nor spend time formatting a
//! file nobody opens. What people review, the codegen snapshot, is formatted here, by the snapshot
//! test and by `cargo xtask check` alike.

/// `code` (as `codegen::generate` returns it: `//` header lines, then the compact tokens),
/// formatted; the header lines are kept.
///
/// # Errors
/// The text after the header is not a Rust file (the parse error's message).
pub fn code(code: &str) -> Result<String, String> {
    let header_len = code.lines().take_while(|l| l.starts_with("//")).map(|l| l.len() + 1).sum::<usize>().min(code.len());
    let (header, rest) = code.split_at(header_len);
    let file = syn::parse_file(rest).map_err(|e| format!("generated code does not parse: {e}"))?;
    Ok(format!("{header}{}", prettyplease::unparse(&file)))
}
