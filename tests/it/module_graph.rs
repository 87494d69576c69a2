//! Dependencies inside each crate of the workspace point one way: no module of `src/` uses a
//! module that uses it back, the generated code (`OUT_DIR`) included; the same holds for the
//! generator (`codegen/src`) and the xtask (`xtask/src`). The graph is read from the `crate::` paths of
//! the source; names `lib.rs` re-exports (`crate::Error`) count as the module that defines them.
//! The generated `types` module is its own node: it holds data only, and `error.rs` builds on
//! it while the generated client builds on `error.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const GENERATED: [&str; 3] = ["codegen.rs", "pages.rs", "operations.rs"];

type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn no_module_depends_on_one_that_depends_on_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let (mut graph, reexports) = read_modules(&src);
    for name in GENERATED {
        let text = std::fs::read_to_string(Path::new(env!("OUT_DIR")).join(name)).unwrap();
        let (types, client) = split_types(&text);
        add(&mut graph, "generated::types", &types, &reexports);
        add(&mut graph, "generated", &client, &reexports);
    }
    let (graph, listing) = within(graph);
    assert!(graph["generated"].contains("error") && graph["error"].contains("generated::types"), "the reading works:\n{listing}");
    let cycles = cycles(&graph);
    assert!(cycles.is_empty(), "modules that depend on each other: {cycles:?}\n{listing}");
}

/// The same for the other two crates of the workspace: the generator (`codegen/src`) and the
/// xtask (`xtask/src`, where `commands` ↔ `effective` once went round through `load`).
#[test]
fn the_generator_and_the_xtask_have_no_cycle_either() {
    for (crate_dir, expect) in [("codegen", ("docs", "syntax")), ("xtask", ("commands", "effective"))] {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(crate_dir).join("src");
        let (graph, listing) = within(read_modules(&src).0);
        assert!(graph[expect.0].contains(expect.1), "the reading of {crate_dir} works:\n{listing}");
        let cycles = cycles(&graph);
        assert!(cycles.is_empty(), "modules of {crate_dir} that depend on each other: {cycles:?}\n{listing}");
    }
}

/// Every module of the crate at `src` (the first component of a file's path under it) and the
/// modules its `crate::` paths name, with `lib.rs`'s re-exports.
fn read_modules(src: &Path) -> (Graph, BTreeMap<String, String>) {
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let reexports = reexports(&lib);
    let mut graph = Graph::new();
    let mut files = Vec::new();
    walk(src, &mut files);
    for file in files {
        let relative = file.strip_prefix(src).unwrap();
        let module = relative.components().next().unwrap().as_os_str().to_string_lossy().trim_end_matches(".rs").to_owned();
        if module != "lib" && module != "main" {
            add(&mut graph, &module, &std::fs::read_to_string(&file).unwrap(), &reexports);
        }
    }
    (graph, reexports)
}

/// The graph cut to the crate's own modules (a name of another crate is no node), and a listing
/// of it for a failing assertion.
fn within(mut graph: Graph) -> (Graph, String) {
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for deps in graph.values_mut() {
        deps.retain(|d| modules.contains(d));
    }
    let listing: String =
        graph.iter().map(|(m, deps)| format!("{m} -> {}\n", deps.iter().cloned().collect::<Vec<_>>().join(", "))).collect();
    (graph, listing)
}

#[test]
fn a_cycle_is_found() {
    let graph: Graph = [("a", ["b"]), ("b", ["c"]), ("c", ["a"])]
        .into_iter()
        .map(|(m, deps)| (m.to_owned(), deps.iter().map(|d| (*d).to_owned()).collect()))
        .collect();
    assert_eq!(cycles(&graph), vec![vec!["a", "b", "c", "a"]]);
}

fn walk(dir: &Path, into: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// `pub use module::{A, B as C};` in lib.rs: name → module.
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in lib.lines().filter_map(|l| l.trim().strip_prefix("pub use ")) {
        let Some((module, names)) = line.trim_end_matches(';').split_once("::") else { continue };
        for name in names.trim_matches(|c| c == '{' || c == '}').split(',') {
            let name = name.split(" as ").last().unwrap_or(name).trim();
            out.insert(name.to_owned(), module.to_owned());
        }
    }
    out
}

/// Every `crate::name` and `crate::{a, b::c}` of `text` (comments and spacing as the generated
/// code has it, `crate :: name`, included).
fn add(graph: &mut Graph, module: &str, text: &str, reexports: &BTreeMap<String, String>) {
    let text: String = text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n").replace(" :: ", "::");
    let deps = graph.entry(module.to_owned()).or_default();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => top_level_names(&group[..group.find('}').unwrap_or(group.len())]),
            None => vec![rest.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or_default()],
        };
        for name in names {
            let target = match name {
                "types" => "generated::types".to_owned(),
                name => reexports.get(name).cloned().unwrap_or_else(|| name.to_owned()),
            };
            if target != module {
                deps.insert(target);
            }
        }
    }
}

/// `a, b::{c, d}, e` → `a`, `b`, `e` (nested groups are cut at their first `}` by the caller;
/// only the first segment of each path matters).
fn top_level_names(group: &str) -> Vec<&str> {
    group.split(',').map(|p| p.trim().split("::").next().unwrap_or_default().trim_matches('{').trim()).filter(|n| !n.is_empty()).collect()
}

/// The generated file's `pub mod types { … }` (one item per line; a header line ends with `{`,
/// a lone `}` closes it), and everything else.
fn split_types(text: &str) -> (String, String) {
    let (mut types, mut rest) = (String::new(), String::new());
    let (mut depth, mut in_types) = (0usize, false);
    for line in text.lines().map(str::trim_end) {
        if depth == 0 && line.ends_with("pub mod types {") {
            in_types = true;
        }
        let into = if in_types { &mut types } else { &mut rest };
        into.push_str(line);
        into.push('\n');
        if line.ends_with('{') {
            depth += 1;
        } else if line == "}" {
            depth = depth.saturating_sub(1);
            in_types &= depth > 0;
        }
    }
    (types, rest)
}

/// Every cycle found by a depth-first walk, as the path that closes it.
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    fn visit(node: &str, graph: &Graph, stack: &mut Vec<String>, done: &mut BTreeSet<String>, found: &mut Vec<Vec<String>>) {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_owned());
            found.push(cycle);
            return;
        }
        if !done.insert(node.to_owned()) {
            return;
        }
        stack.push(node.to_owned());
        for dep in graph.get(node).into_iter().flatten() {
            visit(dep, graph, stack, done, found);
        }
        stack.pop();
    }
    let (mut done, mut found) = (BTreeSet::new(), Vec::new());
    for node in graph.keys() {
        visit(node, graph, &mut Vec::new(), &mut done, &mut found);
    }
    found
}
