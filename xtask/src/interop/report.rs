//! The matrix: one row per cell (peer x mode x direction x storage), then
//! the peers' quoted errors, then the tampered reads.

use std::collections::BTreeMap;

use super::cells::{Cell, ONE_MIB_PLUS};
use super::peer::Peer;
use super::tamper::TamperResult;
use super::{JobResult, Outcome, DIRS};

/// Everything a run found.
pub(crate) struct Report<'a> {
    /// The cells.
    pub(crate) plan: &'a [Cell],
    /// One result per cell and size.
    pub(crate) results: &'a [JobResult],
    /// The tampered reads.
    pub(crate) tampers: &'a [TamperResult],
}

fn size_label(s: u64) -> String {
    if s == ONE_MIB_PLUS {
        "1 MiB+3".into()
    } else if s >= 1 << 20 {
        format!("{} MiB+{}", s >> 20, s & ((1 << 20) - 1))
    } else {
        s.to_string()
    }
}

fn cell_text(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// What one cell came to.
enum Verdict {
    Pass,
    Cannot(String),
    Fail(String),
}

impl Report<'_> {
    fn verdict(&self, cell: &Cell) -> Verdict {
        let mine: Vec<&JobResult> = self.results.iter().filter(|r| r.cell == cell.id).collect();
        let fails: Vec<String> = mine
            .iter()
            .filter_map(|r| match &r.outcome {
                Outcome::Fail(m) => Some(format!("{} B: {m}", size_label(r.size))),
                _ => None,
            })
            .collect();
        if mine.len() != cell.sizes.len() {
            return Verdict::Fail(format!(
                "{} of {} runs finished",
                mine.len(),
                cell.sizes.len()
            ));
        }
        if !fails.is_empty() {
            let n = fails.len();
            let first = fails.into_iter().next().unwrap_or_default();
            return Verdict::Fail(if n > 1 {
                format!("{first} (and {} more)", n - 1)
            } else {
                first
            });
        }
        let cannot = mine.iter().find_map(|r| match &r.outcome {
            Outcome::Cannot(m) => Some(m.clone()),
            _ => None,
        });
        match cannot {
            Some(m) => Verdict::Cannot(m),
            None => Verdict::Pass,
        }
    }

    /// The Markdown text: the matrix, the errors, the tampered reads.
    pub(crate) fn markdown(&self) -> String {
        let mut errors: BTreeMap<String, usize> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut s = String::from(
            "| peer | direction | writer | reader | envelope | notes | body sizes (bytes) | result |\n\
             |---|---|---|---|---|---|---|---|\n",
        );
        for peer in Peer::ALL {
            for dir in DIRS {
                for cell in self.plan.iter().filter(|c| c.peer == peer && c.dir == dir) {
                    let result = match self.verdict(cell) {
                        Verdict::Pass => "pass".to_string(),
                        Verdict::Fail(m) => format!("**FAIL**: {}", cell_text(&m)),
                        Verdict::Cannot(m) => {
                            let n = match errors.get(&m) {
                                Some(n) => *n,
                                None => {
                                    order.push(m.clone());
                                    errors.insert(m.clone(), order.len());
                                    order.len()
                                }
                            };
                            format!("peer cannot (E{n})")
                        }
                    };
                    let sizes: Vec<String> = cell.sizes.iter().map(|&x| size_label(x)).collect();
                    s.push_str(&format!(
                        "| {peer} | {} | {} | {} | {} | {} | {} | {result} |\n",
                        dir.label(),
                        cell.writer(),
                        cell.reader(),
                        cell.storage.label(),
                        cell.note,
                        sizes.join(", "),
                    ));
                }
            }
        }
        if !order.is_empty() {
            s.push_str("\nThe peers' own errors (first line, object key as `<key>`):\n\n");
            for (i, m) in order.iter().enumerate() {
                s.push_str(&format!("- E{}: `{}`\n", i + 1, m.replace('`', "'")));
            }
        }
        s.push_str(
            "\nTampered copies of peer-written 17-byte objects, read by s3ec with every legacy \
             switch on and V2+V3 allowed (\"refused\" = an error and no byte written to the \
             output):\n\n| peer | written by | envelope | tamper | result |\n|---|---|---|---|---|\n",
        );
        for t in self.tampers {
            let Some(cell) = self.plan.get(t.cell) else {
                continue;
            };
            let result = match &t.outcome {
                Outcome::Cannot(e) => {
                    format!("refused: {}", cell_text(&e.replace(&t.base_key, "<key>")))
                }
                Outcome::Fail(m) => format!("**FAIL**: {}", cell_text(m)),
                Outcome::Pass => "**FAIL**: no verdict".into(),
            };
            s.push_str(&format!(
                "| {} | {} | {} | {} ({}) | {result} |\n",
                cell.peer,
                cell.writer(),
                cell.storage.label(),
                t.tamper.name(),
                cell_text(&t.what),
            ));
        }
        s
    }

    /// (failures, one-line summary).
    pub(crate) fn summary(&self) -> (usize, String) {
        let (mut pass, mut cannot, mut fail) = (0, 0, 0);
        for cell in self.plan {
            match self.verdict(cell) {
                Verdict::Pass => pass += 1,
                Verdict::Cannot(_) => cannot += 1,
                Verdict::Fail(_) => fail += 1,
            }
        }
        let refused = self
            .tampers
            .iter()
            .filter(|t| matches!(t.outcome, Outcome::Cannot(_)))
            .count();
        let tfail = self.tampers.len() - refused;
        (
            fail + tfail,
            format!(
                "{} cells ({} runs): {pass} pass, {cannot} peer cannot, {fail} FAIL; \
                 {} tampered reads: {refused} refused, {tfail} FAIL",
                self.plan.len(),
                self.results.len(),
                self.tampers.len()
            ),
        )
    }
}
