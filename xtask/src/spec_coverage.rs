//! `cargo xtask spec-coverage [--spec DIR] [--write] [--write-index]`: which
//! requirements (`MUST` lines) of the S3 Encryption Client specification
//! (`awslabs/aws-encryption-sdk-specification`, folder `s3-encryption/`) the
//! code cites, and which of those the tests cite.
//!
//! **Requirement ids.** A requirement is one line of a spec file containing
//! `MUST` (the RFC 2119 conventions paragraph excepted; the spec writes one
//! sentence per line). Its id is `FILE#ANCHOR/N`: `FILE` the path under
//! `s3-encryption/`, `ANCHOR` the GitHub anchor of the heading it sits under,
//! `N` its 1-based position among the `MUST` lines of that section, e.g.
//! `decryption.md#decrypting-with-commitment/3` or
//! `materials/s3-kms-keyring.md#kmscontext/4`.
//!
//! **Citations.** In a Rust `//` comment, `spec:` followed by one or more
//! ids (separated by spaces or commas; `/N-M` names a run of a section's
//! requirements), and optionally a one-line paraphrase of one's own (never
//! spec text):
//! `// spec: decryption.md#key-commitment/1-2 (policy checked before any content)`.
//! A citation in code (a `.rs` file under `crates/` outside `tests/` folders,
//! `tests.rs` module files and `#[cfg(test)]` modules) says "implemented here"; in a test, "checked
//! here (the test fails without it)".
//!
//! **Index.** The ids come from `docs/spec/requirements.tsv` (ids and
//! keywords only, no spec text; committed so the check runs offline and in
//! CI). With a spec checkout (`--spec DIR` or `S3EC_SPEC_DIR`, `DIR` holding
//! `s3-encryption/`), the index is recomputed and must match;
//! `--write-index` rewrites it. `docs/spec/exceptions.tsv` gives the reason
//! for every requirement not cited in code: `n/a` (does not apply to this
//! project), `design` (applies and holds by construction: nothing to remove,
//! so no negative test) or `open` (applies, not yet traced).
//!
//! Exits non-zero when a citation names no known requirement, a requirement
//! cited in code is cited by no test, or an `n/a` or `design` requirement
//! is cited in code. `--write` writes the report to `docs/spec-coverage.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::root;

/// One requirement of the index: its id and its keywords (`MUST`,
/// `MUST NOT`, or both).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Requirement {
    pub(crate) id: String,
    pub(crate) keywords: String,
}

/// GitHub's anchor of a heading: lower case, punctuation other than `-`
/// and `_` dropped, spaces to `-`.
pub(crate) fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The requirements of one spec file (`rel`: its path under
/// `s3-encryption/`), in order.
pub(crate) fn requirements(rel: &str, markdown: &str) -> Vec<Requirement> {
    let mut out = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut section = String::new();
    let mut n = 0;
    let mut in_code = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        if let Some(h) = line.strip_prefix('#') {
            let a = anchor(h.trim_start_matches('#'));
            // A repeated heading gets `-1`, `-2`, ... as on GitHub.
            let k = seen.entry(a.clone()).or_insert(0);
            section = if *k == 0 {
                a.clone()
            } else {
                format!("{a}-{k}")
            };
            *k += 1;
            n = 0;
        } else if line.contains("MUST") && !line.contains("\"MUST\"") {
            n += 1;
            let must_not = line.contains("MUST NOT");
            let plain = line.replace("MUST NOT", "").contains("MUST");
            let keywords = match (must_not, plain) {
                (true, true) => "MUST NOT, MUST",
                (true, false) => "MUST NOT",
                _ => "MUST",
            };
            out.push(Requirement {
                id: format!("{rel}#{section}/{n}"),
                keywords: keywords.to_string(),
            });
        }
    }
    out
}

/// Splits an id into (file#anchor, first, last) when it has the id shape
/// (`/N` or `/N-M`).
fn id_range(token: &str) -> Option<(&str, usize, usize)> {
    let (head, nums) = token.rsplit_once('/')?;
    let (file, anchor) = head.split_once('#')?;
    if !file.ends_with(".md")
        || anchor.is_empty()
        || !anchor
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return None;
    }
    let (a, b) = match nums.split_once('-') {
        Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
        None => {
            let a = nums.parse().ok()?;
            (a, a)
        }
    };
    (a >= 1 && a <= b).then_some((head, a, b))
}

/// The requirement ids a line cites (`spec:` markers in its `//` comment).
pub(crate) fn citations(line: &str) -> Vec<String> {
    let Some(pos) = line.find("//") else {
        return Vec::new();
    };
    let comment = &line[pos..];
    let mut out = Vec::new();
    for (i, _) in comment.match_indices("spec:") {
        let rest = &comment[i + "spec:".len()..];
        for token in rest.split([' ', ',']).filter(|t| !t.is_empty()) {
            let token = token.trim_matches(['`', '(', ')', '.', ';', ':']);
            let Some((head, a, b)) = id_range(token) else {
                break;
            };
            out.extend((a..=b).map(|n| format!("{head}/{n}")));
        }
    }
    out
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

/// Where each id is cited: (code, tests), id -> the files citing it
/// (relative to `crates/`).
type Sites = BTreeMap<String, BTreeSet<String>>;

/// The citations of the `.rs` files under `crates`: (in code, in tests).
fn scan(crates: &Path) -> (Sites, Sites) {
    let mut paths = Vec::new();
    rust_files(crates, &mut paths);
    paths.sort();
    let (mut code, mut tests) = (Sites::new(), Sites::new());
    for p in paths {
        let Ok(text) = fs::read_to_string(&p) else {
            continue;
        };
        let rel = p
            .strip_prefix(crates)
            .unwrap_or(&p)
            .to_string_lossy()
            .replace('\\', "/");
        // A `tests/` folder, or a `tests.rs` module file (`#[cfg(test)] mod tests;`).
        let in_tests_dir = p.components().any(|c| c.as_os_str() == "tests")
            || p.file_name().is_some_and(|n| n == "tests.rs");
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
            for id in citations(line) {
                target.entry(id).or_default().insert(rel.clone());
            }
        }
    }
    (code, tests)
}

const INDEX: &str = "docs/spec/requirements.tsv";
const EXCEPTIONS: &str = "docs/spec/exceptions.tsv";

fn index_text(reqs: &[Requirement], source: &str) -> String {
    let mut s = format!(
        "# Requirement ids of awslabs/aws-encryption-sdk-specification, folder s3-encryption/\n\
         # (one per spec line containing MUST; ids and keywords only, no spec text).\n\
         # source: {source}\n\
         # regenerate: cargo xtask spec-coverage --spec DIR --write-index\n\
         # id\tkeywords\n"
    );
    for r in reqs {
        s.push_str(&format!("{}\t{}\n", r.id, r.keywords));
    }
    s
}

fn parse_index(text: &str) -> Vec<Requirement> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (id, kw) = l.split_once('\t')?;
            Some(Requirement {
                id: id.to_string(),
                keywords: kw.to_string(),
            })
        })
        .collect()
}

/// Why a requirement is not traced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// It does not apply to this project (a feature it deliberately lacks,
    /// or a shape of API it does not have).
    NotApplicable,
    /// It applies and holds by construction (the types or the API shape):
    /// there is no check to remove, so no negative test.
    Design,
    /// It applies and is not traced yet.
    Open,
}

/// An entry of the exceptions file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Exception {
    pub(crate) kind: Kind,
    pub(crate) reason: String,
}

/// `id<TAB>n/a|design|open<TAB>reason` lines (a `/N-M` id names a run).
pub(crate) fn parse_exceptions(text: &str) -> Result<BTreeMap<String, Exception>, String> {
    let mut out = BTreeMap::new();
    for (i, l) in text.lines().enumerate() {
        if l.starts_with('#') || l.trim().is_empty() {
            continue;
        }
        let mut f = l.splitn(3, '\t');
        let (Some(id), Some(kind), Some(reason)) = (f.next(), f.next(), f.next()) else {
            return Err(format!(
                "{EXCEPTIONS}:{}: want id<TAB>kind<TAB>reason",
                i + 1
            ));
        };
        let kind = match kind {
            "n/a" => Kind::NotApplicable,
            "design" => Kind::Design,
            "open" => Kind::Open,
            k => {
                return Err(format!(
                    "{EXCEPTIONS}:{}: kind {k:?} (n/a, design or open)",
                    i + 1
                ))
            }
        };
        let (head, a, b) =
            id_range(id).ok_or_else(|| format!("{EXCEPTIONS}:{}: bad id {id:?}", i + 1))?;
        for n in a..=b {
            out.insert(
                format!("{head}/{n}"),
                Exception {
                    kind,
                    reason: reason.trim().to_string(),
                },
            );
        }
    }
    Ok(out)
}

fn spec_requirements(spec: &Path) -> Result<Vec<Requirement>, String> {
    let dir = spec.join("s3-encryption");
    let mut files = Vec::new();
    collect_md(&dir, &dir, &mut files);
    files.sort();
    if files.is_empty() {
        return Err(format!("no spec files under {}", dir.display()));
    }
    let mut out = Vec::new();
    for rel in &files {
        let text = fs::read_to_string(dir.join(rel)).map_err(|e| format!("{rel}: {e}"))?;
        out.extend(requirements(rel, &text));
    }
    Ok(out)
}

fn spec_source(spec: &Path) -> String {
    std::process::Command::new("git")
        .arg("-C")
        .arg(spec)
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| format!("commit {}", String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_else(|| "a checkout without git metadata".to_string())
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

pub(crate) fn run(args: &[&str]) -> Result<(), String> {
    let mut spec: Option<PathBuf> = std::env::var_os("S3EC_SPEC_DIR").map(PathBuf::from);
    let (mut write, mut write_index) = (false, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match *a {
            "--spec" => spec = Some(PathBuf::from(it.next().ok_or("--spec takes a folder")?)),
            "--write" => write = true,
            "--write-index" => write_index = true,
            other => return Err(format!("spec-coverage: unknown option {other}")),
        }
    }
    let index_path = root().join(INDEX);
    let committed = fs::read_to_string(&index_path)
        .ok()
        .map(|t| parse_index(&t));
    let reqs = match (&spec, committed) {
        (Some(dir), committed) => {
            let fresh = spec_requirements(dir)?;
            if write_index {
                fs::write(&index_path, index_text(&fresh, &spec_source(dir)))
                    .map_err(|e| format!("{}: {e}", index_path.display()))?;
                eprintln!("xtask: wrote {} ({} requirements)", INDEX, fresh.len());
            } else if committed.as_ref() != Some(&fresh) {
                return Err(format!(
                    "{INDEX} does not match the spec in {}: rerun with --write-index",
                    dir.display()
                ));
            }
            fresh
        }
        (None, _) if write_index => {
            return Err("--write-index needs the spec (--spec DIR or S3EC_SPEC_DIR)".into());
        }
        (None, Some(committed)) => {
            eprintln!(
                "xtask: no spec checkout given (--spec DIR or S3EC_SPEC_DIR): \
                 using the committed index {INDEX}"
            );
            committed
        }
        (None, None) if ci() => {
            return Err(format!("{INDEX} missing and CI is set"));
        }
        (None, None) => {
            eprintln!(
                "xtask: spec-coverage skipped: neither {INDEX} nor a spec checkout \
                 (--spec DIR or S3EC_SPEC_DIR)"
            );
            return Ok(());
        }
    };
    let exceptions = match fs::read_to_string(root().join(EXCEPTIONS)) {
        Ok(t) => parse_exceptions(&t)?,
        Err(_) => BTreeMap::new(),
    };
    let (code, tests) = scan(&root().join("crates"));
    let (report, problems) = report(&reqs, &exceptions, &code, &tests);
    print!("{report}");
    if write {
        let p = root().join("docs").join("spec-coverage.md");
        fs::write(&p, &report).map_err(|e| format!("{}: {e}", p.display()))?;
        eprintln!("xtask: wrote {}", p.display());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        for p in &problems {
            eprintln!("spec-coverage: {p}");
        }
        Err(format!("spec-coverage: {} problem(s)", problems.len()))
    }
}

fn pct(n: usize, of: usize) -> String {
    if of == 0 {
        "-".into()
    } else {
        format!("{:.0}%", 100.0 * n as f64 / of as f64)
    }
}

fn spec_file(id: &str) -> &str {
    id.split('#').next().unwrap_or(id)
}

/// The report (markdown) and the problems that fail the check.
pub(crate) fn report(
    reqs: &[Requirement],
    exceptions: &BTreeMap<String, Exception>,
    code: &Sites,
    tests: &Sites,
) -> (String, Vec<String>) {
    let known: BTreeSet<&str> = reqs.iter().map(|r| r.id.as_str()).collect();
    let mut problems = Vec::new();
    for (id, files) in code.iter().chain(tests.iter()) {
        if !known.contains(id.as_str()) {
            let f: Vec<&str> = files.iter().map(String::as_str).collect();
            problems.push(format!(
                "{id} (cited in {}) is no requirement of the index",
                f.join(", ")
            ));
        }
    }
    for id in exceptions.keys() {
        if !known.contains(id.as_str()) {
            problems.push(format!(
                "{EXCEPTIONS} names {id}, no requirement of the index"
            ));
        }
    }
    let mut s = String::from(
        "# Specification coverage\n\n\
         Generated by `cargo xtask spec-coverage --write` (`cargo xtask ci` runs the check \
         without `--write`) from the requirement index `docs/spec/requirements.tsv` of \
         `awslabs/aws-encryption-sdk-specification`, folder `s3-encryption/`.\n\n\
         A requirement is a spec line containing `MUST`; its id is \
         `FILE#SECTION-ANCHOR/N`, N counting the `MUST` lines of the section \
         (e.g. `decryption.md#key-commitment/2`). Code cites the requirements it \
         implements with a comment `// spec: ID` (several ids, or `/N-M` for a run, may \
         follow one `spec:`, then an optional paraphrase of one's own, never spec text); a \
         test that fails when the check is removed cites the same id. The check fails when \
         a requirement cited in code has no test citing it, or when a citation names no \
         requirement. The requirements not cited in code carry a reason in \
         `docs/spec/exceptions.tsv`: *not applicable* (a feature or API shape the project \
         deliberately lacks), *by construction* (holds through the types or the API shape: \
         there is no check to remove, so no negative test), or *open*. To refresh the index \
         from a spec checkout: `cargo xtask spec-coverage --spec DIR --write-index`.\n\n\
         | spec file | MUSTs | not applicable | applicable | cited in code | cited in code and tests | share | by construction | open |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut files: Vec<&str> = Vec::new();
    for r in reqs {
        if files.last() != Some(&spec_file(&r.id)) {
            files.push(spec_file(&r.id));
        }
    }
    let kind = |id: &str| {
        if code.contains_key(id) {
            None
        } else {
            exceptions.get(id).map(|e| e.kind)
        }
    };
    let mut totals = [0usize; 7];
    for f in &files {
        let mine: Vec<&Requirement> = reqs.iter().filter(|r| spec_file(&r.id) == *f).collect();
        let count = |k: Kind| mine.iter().filter(|r| kind(&r.id) == Some(k)).count();
        let na = count(Kind::NotApplicable);
        let app = mine.len() - na;
        let in_code = mine.iter().filter(|r| code.contains_key(&r.id)).count();
        let both = mine
            .iter()
            .filter(|r| code.contains_key(&r.id) && tests.contains_key(&r.id))
            .count();
        let row = [
            mine.len(),
            na,
            app,
            in_code,
            both,
            count(Kind::Design),
            // Open: said so, or no reason at all.
            app - in_code - count(Kind::Design),
        ];
        s.push_str(&format!(
            "| {f} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            pct(row[4], row[2]),
            row[5],
            row[6]
        ));
        for (t, v) in totals.iter_mut().zip(row) {
            *t += v;
        }
    }
    s.push_str(&format!(
        "| **all** | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        totals[0],
        totals[1],
        totals[2],
        totals[3],
        totals[4],
        pct(totals[4], totals[2]),
        totals[5],
        totals[6]
    ));
    let join = |set: Option<&BTreeSet<String>>| {
        set.map(|s| {
            s.iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
    };
    s.push_str("\n## Traced requirements\n\n| requirement | code | tests |\n|---|---|---|\n");
    for r in reqs {
        if let Some(c) = code.get(&r.id) {
            s.push_str(&format!(
                "| `{}` ({}) | {} | {} |\n",
                r.id,
                r.keywords,
                join(Some(c)),
                join(tests.get(&r.id))
            ));
            if !tests.contains_key(&r.id) {
                problems.push(format!(
                    "{} is cited in code ({}) and by no test",
                    r.id,
                    join(Some(c))
                ));
            }
            if let Some(e) = exceptions.get(&r.id) {
                if e.kind != Kind::Open {
                    problems.push(format!(
                        "{} is cited in code and listed as {:?} in {EXCEPTIONS}",
                        r.id, e.kind
                    ));
                }
            }
        }
    }
    let mut sections = [
        (Kind::NotApplicable, "Not applicable", String::new()),
        (Kind::Design, "Applicable, by construction", String::new()),
        (Kind::Open, "Applicable, not yet traced", String::new()),
    ];
    let mut unexplained = String::new();
    for r in reqs {
        if code.contains_key(&r.id) {
            continue;
        }
        match exceptions.get(&r.id) {
            Some(e) => {
                if let Some(sec) = sections.iter_mut().find(|x| x.0 == e.kind) {
                    sec.2.push_str(&format!("| `{}` | {} |\n", r.id, e.reason));
                }
            }
            None => unexplained.push_str(&format!("- `{}`\n", r.id)),
        }
    }
    for (_, title, body) in &sections {
        if !body.is_empty() {
            s.push_str(&format!(
                "\n## {title}\n\n| requirement | why |\n|---|---|\n{body}"
            ));
        }
    }
    if !unexplained.is_empty() {
        s.push_str("\n## Not traced, no reason recorded\n\n");
        s.push_str(&unexplained);
    }
    (s, problems)
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
    fn anchors_as_github_makes_them() {
        assert_eq!(anchor(" Kms+Context"), "kmscontext");
        assert_eq!(anchor("V1/V2 Instruction Files"), "v1v2-instruction-files");
        assert_eq!(
            anchor("ALG_AES_256_CTR_IV16_TAG16_NO_KDF"),
            "alg_aes_256_ctr_iv16_tag16_no_kdf"
        );
    }

    #[test]
    fn requirements_are_numbered_per_section() {
        let md = "# T\nThe key words \"MUST\", ...\n## A\n- it MUST do\n- MUST NOT x; it MUST y\n\
                  ```\nMUST in code\n```\n### A b\nnothing\n## A\nMUST NOT\n";
        let got: Vec<(String, String)> = requirements("f.md", md)
            .into_iter()
            .map(|r| (r.id, r.keywords))
            .collect();
        let want = [
            ("f.md#a/1", "MUST"),
            ("f.md#a/2", "MUST NOT, MUST"),
            ("f.md#a-1/1", "MUST NOT"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn citations_in_comments() {
        assert_eq!(
            citations("    // spec: decryption.md#ranged-gets/4 (a range nobody asked for)"),
            vec!["decryption.md#ranged-gets/4"]
        );
        assert_eq!(
            citations("/// spec: `a.md#x/1`, d/b.md#y_z/2-3. Then prose: c.md#q/1"),
            vec!["a.md#x/1", "d/b.md#y_z/2", "d/b.md#y_z/3"]
        );
        // Outside a comment; no marker; a malformed id; a backwards run.
        assert!(citations("let s = \"spec: a.md#x/1\";").is_empty());
        assert!(citations("// a.md#x/1").is_empty());
        assert!(citations("// spec: a.md#x").is_empty());
        assert!(citations("// spec: a.md#x/3-2").is_empty());
        assert!(citations("// spec: a.md#x/0").is_empty());
    }

    #[test]
    fn exceptions_parse_and_expand() {
        let e = parse_exceptions("# c\na.md#x/1-2\tn/a\tno CMM\nb.md#y/1\topen\tlater\n").unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(e["a.md#x/2"].kind, Kind::NotApplicable);
        assert_eq!(e["b.md#y/1"].kind, Kind::Open);
        let d = parse_exceptions("a.md#x/1\tdesign\ttypes\n").unwrap();
        assert_eq!(d["a.md#x/1"].kind, Kind::Design);
        assert!(parse_exceptions("a.md#x/1\tmaybe\twhy\n").is_err());
        assert!(parse_exceptions("a.md#x/1\tn/a\n").is_err());
    }

    fn sites(pairs: &[(&str, &str)]) -> Sites {
        let mut s = Sites::new();
        for (id, f) in pairs {
            s.entry(id.to_string()).or_default().insert(f.to_string());
        }
        s
    }

    #[test]
    fn the_check_fails_for_untested_unknown_and_na_citations() {
        let reqs = requirements("f.md", "## A\nMUST\nMUST\nMUST\n");
        let mut exc = BTreeMap::new();
        exc.insert(
            "f.md#a/3".to_string(),
            Exception {
                kind: Kind::NotApplicable,
                reason: "no".into(),
            },
        );
        // Everything traced and tested: no problem, 2 of 2 applicable.
        let code = sites(&[("f.md#a/1", "c.rs"), ("f.md#a/2", "c.rs")]);
        let tests = sites(&[("f.md#a/1", "t.rs"), ("f.md#a/2", "t.rs")]);
        let (r, p) = report(&reqs, &exc, &code, &tests);
        assert!(p.is_empty(), "{p:?}");
        assert!(
            r.contains("| f.md | 3 | 1 | 2 | 2 | 2 | 100% | 0 | 0 |"),
            "{r}"
        );
        // A code citation without a test.
        let tests1 = sites(&[("f.md#a/1", "t.rs")]);
        let (_, p) = report(&reqs, &exc, &code, &tests1);
        assert_eq!(p.len(), 1);
        assert!(p[0].contains("f.md#a/2") && p[0].contains("no test"));
        // An unknown id, in a test.
        let tests2 = sites(&[
            ("f.md#a/1", "t.rs"),
            ("f.md#a/2", "t.rs"),
            ("f.md#a/9", "t.rs"),
        ]);
        let (_, p) = report(&reqs, &exc, &code, &tests2);
        assert_eq!(p.len(), 1);
        assert!(p[0].contains("f.md#a/9"));
        // An n/a requirement cited in code.
        let code3 = sites(&[("f.md#a/3", "c.rs")]);
        let tests3 = sites(&[("f.md#a/3", "t.rs")]);
        let (_, p) = report(&reqs, &exc, &code3, &tests3);
        assert!(p.iter().any(|p| p.contains("NotApplicable")), "{p:?}");
    }

    #[test]
    fn the_committed_index_parses_and_matches_its_own_format() {
        let text = fs::read_to_string(root().join(INDEX)).unwrap();
        let reqs = parse_index(&text);
        assert!(reqs.len() > 150, "{}", reqs.len());
        let ids: BTreeSet<&str> = reqs.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), reqs.len(), "ids are unique");
        for r in &reqs {
            assert!(id_range(&r.id).is_some(), "{}", r.id);
        }
        assert!(index_text(&reqs, "x").ends_with(&format!(
            "{}\t{}\n",
            reqs[reqs.len() - 1].id,
            reqs[reqs.len() - 1].keywords
        )));
    }
}
