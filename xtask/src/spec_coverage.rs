//! `cargo xtask spec-coverage [--spec DIR] [--write]`: which parts of the
//! S3 Encryption Client specification (`awslabs/aws-encryption-sdk-specification`,
//! folder `s3-encryption/`) the code cites, and which of those the tests cite.
//!
//! The unit is the spec **section** (a heading): a citation is a spec file
//! name (`decryption.md`, or the alias `KMSK` for `s3-kms-keyring.md`) in a
//! Rust comment, optionally followed by `§Section`. For every section the
//! report gives its number of requirement sentences (lines with `MUST`), and
//! whether code and tests cite it. Only file names, section titles and
//! counts are printed: no specification text is copied.
//!
//! Code is every `.rs` file under `crates/` outside `tests/` folders and
//! `#[cfg(test)]` modules; tests are the rest. Exits non-zero when a section
//! cited in code is cited by no test.
//!
//! The spec folder: `--spec DIR` (a checkout holding `s3-encryption/`), else
//! `S3EC_SPEC_DIR`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::root;

/// One section of a spec file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Section {
    pub(crate) title: String,
    pub(crate) musts: usize,
}

/// The sections of a spec file, in order (text before the first heading is
/// the file's own section, titled "").
pub(crate) fn sections(markdown: &str) -> Vec<Section> {
    let mut out = vec![Section {
        title: String::new(),
        musts: 0,
    }];
    for line in markdown.lines() {
        if let Some(h) = line.strip_prefix('#') {
            out.push(Section {
                title: h.trim_start_matches('#').trim().to_string(),
                musts: 0,
            });
        } else if line.contains("MUST") && !line.contains("RFC 2119") && !line.contains("RFC2119") {
            if let Some(last) = out.last_mut() {
                last.musts += 1;
            }
        }
    }
    out
}

/// A citation found in the project: spec file (base name) and section (as
/// written, may be empty).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Citation {
    pub(crate) file: String,
    pub(crate) section: String,
}

/// The citations on one line of a comment. `files` are the spec base names.
pub(crate) fn citations(line: &str, files: &[String]) -> Vec<Citation> {
    let Some(pos) = line.find("//") else {
        return Vec::new();
    };
    let comment = &line[pos..];
    let mut out = Vec::new();
    let mut names: Vec<(&str, &str)> = files.iter().map(|f| (f.as_str(), f.as_str())).collect();
    names.push(("KMSK", "s3-kms-keyring.md"));
    for (needle, file) in names {
        let mut from = 0;
        while let Some(i) = comment[from..].find(needle) {
            let at = from + i;
            from = at + needle.len();
            // A whole name (not `xdecryption.md`).
            let before = comment[..at].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-') {
                continue;
            }
            let rest = comment[from..].trim_start_matches(['`', ' ', ')']);
            // `KMSK Section Name: ...` names its section without `§`.
            let rest_owned;
            let rest = if needle == "KMSK" && !rest.starts_with('§') {
                rest_owned = format!("§{}", rest.split(':').next().unwrap_or(""));
                rest_owned.as_str()
            } else {
                rest
            };
            let section = rest
                .strip_prefix('§')
                .map(|s| {
                    s.trim_start()
                        .split([':', ',', ';', '(', ')', '`', '"'])
                        .next()
                        .unwrap_or("")
                        .trim()
                        .trim_end_matches('.')
                        .to_string()
                })
                .unwrap_or_default();
            out.push(Citation {
                file: file.to_string(),
                section,
            });
        }
    }
    out
}

/// The section of `sections` a citation names: the longest title that the
/// cited text starts with (case-insensitive), or "" (file level).
pub(crate) fn resolve<'a>(cited: &str, sections: &'a [Section]) -> &'a str {
    let c = cited.to_ascii_lowercase();
    sections
        .iter()
        .filter(|s| !s.title.is_empty() && c.starts_with(&s.title.to_ascii_lowercase()))
        .max_by_key(|s| s.title.len())
        .map_or("", |s| s.title.as_str())
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// (code citations, test citations) of the project.
fn scan(files: &[String]) -> (BTreeSet<Citation>, BTreeSet<Citation>) {
    let mut paths = Vec::new();
    rust_files(&root().join("crates"), &mut paths);
    let (mut code, mut tests) = (BTreeSet::new(), BTreeSet::new());
    for p in paths {
        let Ok(text) = fs::read_to_string(&p) else {
            continue;
        };
        let in_tests_dir = p.components().any(|c| c.as_os_str() == "tests");
        let mut in_test_mod = false;
        for line in text.lines() {
            if line.trim_start().starts_with("#[cfg(test)]") {
                in_test_mod = true;
            }
            let target = if in_tests_dir || in_test_mod {
                &mut tests
            } else {
                &mut code
            };
            target.extend(citations(line, files));
        }
    }
    (code, tests)
}

pub(crate) fn run(args: &[&str]) -> Result<(), String> {
    let mut spec: Option<PathBuf> = std::env::var_os("S3EC_SPEC_DIR").map(PathBuf::from);
    let mut write = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match *a {
            "--spec" => spec = Some(PathBuf::from(it.next().ok_or("--spec takes a folder")?)),
            "--write" => write = true,
            other => return Err(format!("spec-coverage: unknown option {other}")),
        }
    }
    let spec = spec.ok_or(
        "spec-coverage: give the specification checkout (--spec DIR or S3EC_SPEC_DIR; \
         awslabs/aws-encryption-sdk-specification)",
    )?;
    let dir = spec.join("s3-encryption");
    let mut spec_files = Vec::new();
    collect_md(&dir, &dir, &mut spec_files);
    spec_files.sort();
    if spec_files.is_empty() {
        return Err(format!("no spec files under {}", dir.display()));
    }
    let mut parsed: BTreeMap<String, (String, Vec<Section>)> = BTreeMap::new();
    for rel in &spec_files {
        let text = fs::read_to_string(dir.join(rel)).map_err(|e| format!("{rel}: {e}"))?;
        let base = rel.rsplit('/').next().unwrap_or(rel).to_string();
        parsed.insert(base, (rel.clone(), sections(&text)));
    }
    let bases: Vec<String> = parsed.keys().cloned().collect();
    let (code, tests) = scan(&bases);
    let resolve_all = |set: &BTreeSet<Citation>| -> BTreeSet<(String, String)> {
        set.iter()
            .filter_map(|c| {
                let (_, secs) = parsed.get(&c.file)?;
                Some((c.file.clone(), resolve(&c.section, secs).to_string()))
            })
            .collect()
    };
    let code_r = resolve_all(&code);
    let tests_r = resolve_all(&tests);
    let mut report = String::from(
        "# Specification coverage\n\n\
         Generated by `cargo xtask spec-coverage --spec DIR --write` against \
         `awslabs/aws-encryption-sdk-specification`, folder `s3-encryption/`. Unit: a spec \
         section (heading); `MUST` = its requirement lines. \"code\" / \"tests\": a comment \
         in code / in a test names the file and the section (`decryption.md §Ranged Gets`; \
         a file named without a section counts for the file as a whole, row \"(file)\").\n\n\
         | spec file | sections with MUSTs | their MUST lines | cited in code (MUST lines) | also cited in tests (MUST lines) |\n\
         |---|---:|---:|---:|---:|\n",
    );
    let mut detail = String::from("\n## Sections\n\n| spec file | section | MUST lines | code | tests |\n|---|---|---:|---|---|\n");
    let mut untested = Vec::new();
    for (base, (rel, secs)) in &parsed {
        let with: Vec<&Section> = secs.iter().filter(|s| s.musts > 0).collect();
        let total: usize = with.iter().map(|s| s.musts).sum();
        let in_code = |t: &str| code_r.contains(&(base.clone(), t.to_string()));
        let in_tests = |t: &str| tests_r.contains(&(base.clone(), t.to_string()));
        let code_musts: usize = with
            .iter()
            .filter(|s| in_code(&s.title))
            .map(|s| s.musts)
            .sum();
        let test_musts: usize = with
            .iter()
            .filter(|s| in_code(&s.title) && in_tests(&s.title))
            .map(|s| s.musts)
            .sum();
        report.push_str(&format!(
            "| {rel} | {} | {total} | {code_musts} | {test_musts} |\n",
            with.len()
        ));
        for s in secs {
            let (c, t) = (in_code(&s.title), in_tests(&s.title));
            if s.musts == 0 && !c && !t {
                continue;
            }
            let title = if s.title.is_empty() {
                "(file)"
            } else {
                s.title.as_str()
            };
            detail.push_str(&format!(
                "| {rel} | {title} | {} | {} | {} |\n",
                s.musts,
                if c { "yes" } else { "" },
                if t { "yes" } else { "" }
            ));
            if c && !t {
                untested.push(format!("{rel} §{title}"));
            }
        }
    }
    report.push_str(&detail);
    report.push_str(&format!(
        "\n## Cited in code, cited by no test ({})\n\n",
        untested.len()
    ));
    for u in &untested {
        report.push_str(&format!("- {u}\n"));
    }
    print!("{report}");
    if write {
        let p = root().join("docs").join("spec-coverage.md");
        fs::write(&p, &report).map_err(|e| format!("{}: {e}", p.display()))?;
        eprintln!("xtask: wrote {}", p.display());
    }
    if untested.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} spec section(s) cited in code have no test citing them",
            untested.len()
        ))
    }
}

fn collect_md(base: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_md(base, &p, out);
        } else if p.extension().is_some_and(|x| x == "md")
            && p.file_name().is_some_and(|n| n != "README.md")
        {
            if let Ok(rel) = p.strip_prefix(base) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn sections_count_musts() {
        let md = "# T\nintro MUST x\n## A\n- it MUST do\n- MUST NOT\n### A b\nnothing\n";
        let s = sections(md);
        let got: Vec<(&str, usize)> = s.iter().map(|s| (s.title.as_str(), s.musts)).collect();
        assert_eq!(got, vec![("", 0), ("T", 1), ("A", 2), ("A b", 0)]);
    }

    #[test]
    fn citations_in_comments() {
        let files = vec!["decryption.md".to_string(), "client.md".to_string()];
        let c = citations(
            "    // Spec `decryption.md` §Ranged Gets: a ranged response MUST ...",
            &files,
        );
        assert_eq!(
            c,
            vec![Citation {
                file: "decryption.md".into(),
                section: "Ranged Gets".into()
            }]
        );
        // Not in a comment; a longer name; the KMSK alias; file level.
        assert!(citations("let x = \"decryption.md §A\";", &files).is_empty());
        assert!(citations("// see xdecryption.md §A", &files).is_empty());
        let k = citations("// KMSK Kms+Context: MUST validate", &files);
        assert_eq!(k[0].file, "s3-kms-keyring.md");
        assert_eq!(k[0].section, "Kms+Context");
        let f = citations("/// (spec `client.md`)", &files);
        assert_eq!(f[0].section, "");
    }

    #[test]
    fn resolving_takes_the_longest_heading() {
        let secs = sections("## Key Commitment\nMUST\n#### Decrypting With Commitment\nMUST\n");
        assert_eq!(
            resolve("Decrypting With Commitment", &secs),
            "Decrypting With Commitment"
        );
        assert_eq!(resolve("Key Commitment policy", &secs), "Key Commitment");
        assert_eq!(resolve("Nothing", &secs), "");
    }
}
