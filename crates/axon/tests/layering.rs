//! The kernel's layers import downwards only.
//!
//! `crates/axon/src` is four layer directories plus two leaf modules:
//!
//! ```text
//!   services   (cat, stm, introspect)
//!   component  (component, prefab, threaded, handle, signal)
//!   boxes      (node, store, topology, wakeup, linkage, inbox, outbox, select, error)
//!   runtime    (scheduler, task, idle, park, coop, time, block_on, sync, spin)
//!   leaves     (id, name)
//! ```
//!
//! A file may import (`crate::...`) its own layer and the layers below it, never
//! one above. This test reads the source files and checks every `crate::` path
//! outside comments and test modules: it names a layer (`crate::runtime::...`)
//! or a leaf, never a root re-export (`crate::System` would hide which layer it
//! comes from), and that layer is not above the file's own.
//!
//! [`KNOWN_UPWARD`] lists the upward imports not removed yet. The test also
//! fails when one of them has gone, so that the list only shrinks.

use std::path::{Path, PathBuf};

/// Layers from the bottom; a leaf module is layer 0.
const LAYERS: [(&str, usize); 6] = [
    ("id", 0),
    ("name", 0),
    ("runtime", 1),
    ("boxes", 2),
    ("component", 3),
    ("services", 4),
];

/// Upward imports that remain, as (file under `src/`, layer imported). Each
/// is a debt: remove the import, then its line here.
const KNOWN_UPWARD: &[(&str, &str)] = &[];

fn rank(first_segment: &str) -> Option<usize> {
    LAYERS.iter().find(|(n, _)| *n == first_segment).map(|&(_, r)| r)
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every kernel source file with its layer: the files of each layer directory
/// and the leaf modules. (`lib.rs` may import anything; `testing.rs` is
/// compiled for unit tests only.)
fn files() -> Vec<(String, usize)> {
    let src = src_dir();
    let mut out = Vec::new();
    for (name, r) in LAYERS {
        let dir = src.join(name);
        if dir.is_dir() {
            let mut entries: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "rs"))
                .collect();
            entries.sort();
            for p in entries {
                let rel = p.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
                out.push((rel, r));
            }
        } else {
            assert!(
                src.join(format!("{name}.rs")).is_file(),
                "no src/{name}.rs or src/{name}/"
            );
            out.push((format!("{name}.rs"), r));
        }
    }
    out
}

/// The lines of `text` that are code outside test modules, with comments
/// removed: a top-level module under `#[cfg(test)]`, `#[cfg(loom)]` or
/// `#[cfg(all(test, ...))]` is skipped up to its closing `}` in column 0
/// (rustfmt's layout).
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        if line.starts_with("#[cfg(") && (line.contains("test") || line.contains("loom")) {
            if let Some((_, next)) = lines.peek() {
                if next.starts_with("mod ") || next.starts_with("pub(crate) mod ") {
                    for (_, l) in lines.by_ref() {
                        if l == "}" {
                            break;
                        }
                    }
                    continue;
                }
            }
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        let code = match line.find(" // ") {
            Some(at) => &line[..at],
            None => line,
        };
        out.push((i + 1, code.to_string()));
    }
    out
}

/// Every `crate::<segment>` in `code`: the segment after `crate::`.
fn crate_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before_ok = at == 0 || {
            let c = rest.as_bytes()[at - 1];
            !(c.is_ascii_alphanumeric() || c == b'_')
        };
        rest = &rest[at + "crate::".len()..];
        if !before_ok {
            continue;
        }
        let seg: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '{')
            .collect();
        out.push(seg);
    }
    out
}

#[test]
fn imports_point_down_only() {
    let mut problems = Vec::new();
    let mut upward_seen: Vec<(String, String)> = Vec::new();
    let files = files();
    assert!(files.len() > 25, "found only {} kernel files", files.len());
    for (rel, own) in &files {
        let text = std::fs::read_to_string(src_dir().join(rel)).unwrap();
        for (line_no, code) in code_lines(&text) {
            for seg in crate_paths(&code) {
                match rank(&seg) {
                    None => problems.push(format!(
                        "src/{rel}:{line_no}: `crate::{seg}`: name the layer (crate::runtime::..., \
                         crate::boxes::..., ...) rather than a root re-export"
                    )),
                    Some(r) if r > *own => {
                        if KNOWN_UPWARD.contains(&(rel.as_str(), seg.as_str())) {
                            let pair = (rel.clone(), seg.clone());
                            if !upward_seen.contains(&pair) {
                                upward_seen.push(pair);
                            }
                        } else {
                            problems.push(format!(
                                "src/{rel}:{line_no}: imports `crate::{seg}`, a layer above its own: {}",
                                code.trim()
                            ));
                        }
                    }
                    Some(_) => {}
                }
            }
        }
    }
    for (file, layer) in KNOWN_UPWARD {
        if !upward_seen.iter().any(|(f, l)| f == file && l == layer) {
            problems.push(format!(
                "src/{file} no longer imports crate::{layer}: remove it from KNOWN_UPWARD"
            ));
        }
    }
    assert!(problems.is_empty(), "layering broken:\n{}", problems.join("\n"));
}

#[test]
fn the_checker_sees_an_upward_import() {
    // A boxes-layer line importing the component layer, and one hidden in a
    // comment or a test module, which do not count.
    let text = "use crate::runtime::sync::Ordering;\n\
                use crate::component::component::ComponentRef; // up\n\
                // use crate::services::cat::Cat;\n\
                #[cfg(test)]\n\
                mod tests {\n    use crate::services::cat::Cat;\n}\n\
                fn f() -> crate::System { todo!() }\n";
    let segs: Vec<String> = code_lines(text)
        .iter()
        .flat_map(|(_, c)| crate_paths(c))
        .collect();
    assert_eq!(segs, ["runtime", "component", "System"]);
    assert_eq!(rank("component"), Some(3));
    assert!(rank("System").is_none());
}

#[test]
fn every_layer_says_what_it_may_import() {
    for (name, r) in LAYERS {
        if r == 0 {
            continue;
        }
        let text = std::fs::read_to_string(src_dir().join(name).join("mod.rs")).unwrap();
        assert!(
            text.starts_with("//!"),
            "src/{name}/mod.rs opens with a `//!` doc"
        );
        assert!(
            text.contains("**May import:**"),
            "src/{name}/mod.rs says what it may import"
        );
    }
}
